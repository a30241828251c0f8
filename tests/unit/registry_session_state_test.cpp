// Per-message session state in the store: spending a proof charges the grant's quotas once,
// an identical retry is free, another message with the same jti is a replay, an exhausted
// grant refuses without charging, the conversation ledger answers only what it recorded, and
// housekeeping, never the message path, purges what expired.
// The same holds when gateways race on separate connections. Runs against the backend
// store_support.hpp selects.
#include <algorithm>
#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "registry/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using namespace agentgate::testing;

struct SessionFixture {
  FreshStore db;
  std::unique_ptr<Store> store = open_store(db.url(), true);
  policy::Time later = common::now_seconds() + std::chrono::minutes(5);
  SessionFixture() {
    store->migrate();
    policy::Identity bot = sample_identity();
    bot.id = "bot";
    auto g = sample_grant("g-00000000000000000001", "bot", common::now_seconds());
    g.expires_at = later;
    g.max_messages = 2;
    g.max_recipients = 3;
    store->write([&](StoreTx& tx) {
      tx.put_identity(bot);
      tx.insert_grant(g);
    });
  }
  policy::Grant grant() {
    std::optional<policy::Grant> g;
    store->read([&](StoreTx& tx) { g = tx.find_grant("g-00000000000000000001"); });
    REQUIRE(g);
    return *g;
  }
  ProofSpend spend(const char* jti, const char* digest, std::int64_t recipients) {
    return store->spend_proof(jti, "g-00000000000000000001", digest, later, recipients);
  }
};

TEST_CASE("session state: spends, retries, replays and quotas are decided in the store") {
  SessionFixture f;
  CHECK(f.spend("j1", "d1", 1) == ProofSpend::spent);
  CHECK(f.store->spent_digest("j1") == std::optional<std::string>("d1"));
  CHECK_FALSE(f.store->spent_digest("j2"));
  CHECK(f.spend("j1", "d1", 1) == ProofSpend::identical_retry);
  CHECK(f.spend("j1", "other", 1) == ProofSpend::replayed);
  CHECK(f.grant().messages_used == 1);
  CHECK(f.grant().recipients_used == 1);
  SUBCASE("the recipient quota refuses a message that would exceed it, charging nothing") {
    CHECK(f.spend("j2", "d2", 3) == ProofSpend::exhausted);
    CHECK(f.grant().recipients_used == 1);
    CHECK_FALSE(f.store->spent_digest("j2"));
  }
  SUBCASE("the message quota refuses the third message") {
    CHECK(f.spend("j2", "d2", 1) == ProofSpend::spent);
    CHECK(f.spend("j3", "d3", 1) == ProofSpend::exhausted);
    CHECK(f.grant().messages_used == 2);
  }
  SUBCASE("an unknown grant is reported as such") {
    CHECK(f.store->spend_proof("j9", "g-nope", "d", f.later, 1) == ProofSpend::unknown_grant);
  }
}

TEST_CASE("session state: a spend at a generation the registry moved past spends nothing") {
  // End of message decides on a snapshot and confirms it with the spend (spend_proof_at).
  SessionFixture f;
  auto at = f.store->generation();
  auto spend_at = [&](std::uint64_t generation, const char* jti) {
    return f.store->spend_proof_at(generation, jti, "g-00000000000000000001", "d", f.later, 1);
  };
  CHECK(spend_at(at, "j1") == std::optional<ProofSpend>(ProofSpend::spent));
  auto other = sample_identity();
  other.id = "other";
  other.inbox = "other@agents.test";
  other.principals = {"sasl:other"};
  f.store->write([&](StoreTx& tx) { tx.put_identity(other); });  // a revocation, say
  CHECK_FALSE(spend_at(at, "j2").has_value());
  CHECK(f.grant().messages_used == 1);
  CHECK_FALSE(f.store->spent_digest("j2"));
  CHECK(spend_at(f.store->generation(), "j2") == std::optional<ProofSpend>(ProofSpend::spent));
  CHECK(f.grant().messages_used == 2);
}

TEST_CASE("session state: housekeeping purges expired session state, off the message path") {
  using namespace std::chrono_literals;
  SessionFixture f;
  const auto now = common::now_seconds();
  auto spend = [&](const char* jti, policy::Time expires_at) {
    return f.store->spend_proof(jti, "g-00000000000000000001", "d", expires_at, 1);
  };
  auto ledger_rows = [&] { return f.db.scalar("SELECT COUNT(*) FROM ledger"); };
  CHECK(spend("old", now - 2h) == ProofSpend::spent);
  CHECK(spend("recent", now - 10min) == ProofSpend::spent);
  f.store->record_received("bot@agents.test", "<gone@x>", {"a@x.test"}, now - 1s);
  f.store->record_received("bot@agents.test", "<kept@x>", {"a@x.test"}, now + 1h);
  // The message path keeps expired rows until housekeeping: an old jti is still a retry.
  CHECK(spend("old", now - 2h) == ProofSpend::identical_retry);
  CHECK(f.grant().messages_used == 2);
  CHECK(ledger_rows() == 2);
  f.store->housekeeping();
  CHECK_FALSE(f.store->spent_digest("old"));  // an hour past its expiry
  CHECK(f.store->spent_digest("recent") == std::optional<std::string>("d"));
  CHECK(ledger_rows() == 1);
  CHECK(f.store->find_received("bot@agents.test", "<kept@x>").has_value());
  SUBCASE("once a minute: the next call, a moment later, purges nothing") {
    f.store->record_received("bot@agents.test", "<late@x>", {"a@x.test"}, now - 1s);
    f.store->housekeeping();
    CHECK(ledger_rows() == 2);
  }
}

TEST_CASE("session state: one housekeeping purges more expired rows than a batch holds") {
  using namespace std::chrono_literals;
  SessionFixture f;
  const auto now = common::now_seconds();
  for (int i = 0; i < 2100; ++i)  // SQLite deletes 1,024 per write transaction
    f.store->record_received("bot@agents.test", fmt::format("<{}@x>", i), {"a@x.test"}, now - 1s);
  f.store->record_received("bot@agents.test", "<kept@x>", {"a@x.test"}, now + 1h);
  f.store->housekeeping();
  CHECK(f.db.scalar("SELECT COUNT(*) FROM ledger") == 1);
}

TEST_CASE("session state: a failed purge waits a minute, not the next poll") {
  SessionFixture f;
  f.db.exec_sql("DROP TABLE ledger");  // the purge's second statement now fails
  CHECK_THROWS_AS(f.store->housekeeping(), StoreError);
  CHECK_NOTHROW(f.store->housekeeping());  // the daemon polls every second or so
}

TEST_CASE("session state: the ledger answers for the inbox and message it recorded") {
  SessionFixture f;
  f.store->record_received("bot@agents.test", "<m1@x>", {"a@x.test", "b@x.test"}, f.later);
  auto hit = f.store->find_received("bot@agents.test", "<m1@x>");
  REQUIRE(hit);
  CHECK(*hit == std::vector<std::string>{"a@x.test", "b@x.test"});
  CHECK_FALSE(f.store->find_received("other@agents.test", "<m1@x>"));
  CHECK_FALSE(f.store->find_received("bot@agents.test", "<m2@x>"));
  f.store->record_received("bot@agents.test", "<old@x>", {"a@x.test"},
                           common::now_seconds() - std::chrono::seconds(1));
  CHECK_FALSE(f.store->find_received("bot@agents.test", "<old@x>"));
  SUBCASE("recording the same message again replaces its participants") {
    f.store->record_received("bot@agents.test", "<m1@x>", {"c@x.test"}, f.later);
    CHECK(f.store->find_received("bot@agents.test", "<m1@x>") ==
          std::vector<std::string>{"c@x.test"});
  }
}

// Each racer has its own connection, as separate gateways do; a latch starts them together.
template <typename Spend>
std::vector<ProofSpend> race(const std::string& url, int racers, Spend spend) {
  std::vector<std::unique_ptr<Store>> stores;
  for (int k = 0; k < racers; ++k) stores.push_back(open_store(url));
  std::vector<ProofSpend> out(static_cast<size_t>(racers));
  std::vector<std::string> errors(static_cast<size_t>(racers));
  std::latch start(racers);
  std::vector<std::thread> threads;
  for (int k = 0; k < racers; ++k)
    threads.emplace_back([&, k] {
      auto i = static_cast<size_t>(k);
      start.arrive_and_wait();
      try {
        out[i] = spend(*stores[i], k);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) REQUIRE_MESSAGE(e.empty(), e);
  return out;
}

long count(const std::vector<ProofSpend>& v, ProofSpend want) {
  return std::count(v.begin(), v.end(), want);
}

TEST_CASE("session state: concurrent spends on separate connections never overspend") {
  SessionFixture f;
  const std::string grant = "g-00000000000000000001";  // max_messages 2, max_recipients 3
  SUBCASE("the last units of quota: exactly as many spent as the quota allows") {
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      auto outcomes = race(f.db.url(), 6, [&](Store& s, int k) {
        return s.spend_proof(fmt::format("r{}-j{}", round, k), grant, "d", f.later, 1);
      });
      CHECK(count(outcomes, ProofSpend::spent) == (round == 0 ? 2 : 0));
      CHECK(count(outcomes, ProofSpend::exhausted) == (round == 0 ? 4 : 6));
    }
    CHECK(f.grant().messages_used == 2);
    CHECK(f.grant().recipients_used == 2);
  }
  SUBCASE("the same jti with different digests: one spent, the others replayed") {
    auto outcomes = race(f.db.url(), 4, [&](Store& s, int k) {
      return s.spend_proof("shared-jti", grant, fmt::format("digest-{}", k), f.later, 1);
    });
    CHECK(count(outcomes, ProofSpend::spent) == 1);
    CHECK(count(outcomes, ProofSpend::replayed) == 3);
    CHECK(f.grant().messages_used == 1);
  }
  SUBCASE("the same jti and digest: one spent, the others identical retries, counted once") {
    auto outcomes = race(f.db.url(), 4, [&](Store& s, int) {
      return s.spend_proof("retried-jti", grant, "same-digest", f.later, 1);
    });
    CHECK(count(outcomes, ProofSpend::spent) == 1);
    CHECK(count(outcomes, ProofSpend::identical_retry) == 3);
    CHECK(f.grant().messages_used == 1);
  }
}

}  // namespace
}  // namespace agentgate::registry
