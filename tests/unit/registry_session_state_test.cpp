// Per-message session state in the store: spending a proof charges the grant's quotas once,
// an identical retry is free, another message with the same jti is a replay, an exhausted
// grant refuses without charging, and the conversation ledger answers only what it recorded.
#include <chrono>
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "common/timefmt.hpp"
#include "registry/store.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using namespace agentgate::testing;

struct Fixture {
  TempDir dir;
  std::unique_ptr<Store> store = open_store("sqlite://" + dir.file("registry.db"), true);
  policy::Time later = common::now_seconds() + std::chrono::minutes(5);
  Fixture() {
    store->migrate();
    policy::Identity bot = sample_identity();
    bot.id = "bot";
    policy::Grant g;
    g.id = "g-00000000000000000001";
    g.identity_id = "bot";
    g.task_id = "T-1";
    g.public_key = std::string(32, 'k');
    g.issued_at = common::now_seconds();
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
  Fixture f;
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

TEST_CASE("session state: the ledger answers for the inbox and message it recorded") {
  Fixture f;
  f.store->record_received("bot@agents.test", "<m1@x>", {"a@x.test", "b@x.test"}, f.later);
  auto hit = f.store->find_received("bot@agents.test", "<m1@x>");
  REQUIRE(hit);
  CHECK(*hit == std::vector<std::string>{"a@x.test", "b@x.test"});
  CHECK_FALSE(f.store->find_received("other@agents.test", "<m1@x>"));
  CHECK_FALSE(f.store->find_received("bot@agents.test", "<m2@x>"));
  f.store->record_received("bot@agents.test", "<old@x>", {"a@x.test"},
                           common::now_seconds() - std::chrono::seconds(1));
  CHECK_FALSE(f.store->find_received("bot@agents.test", "<old@x>"));
}

}  // namespace
}  // namespace agentgate::registry
