// What only the PostgreSQL backend has: migrations safe against concurrent `agentgatectl init`,
// one notification per committed write on the change feed (none for a rolled-back one), a broken
// feed or store connection reported as a StoreError, connection failures that arrive within the
// connect timeout and never show the URL's password.
//
// These cases need the cluster of tests/pg/cluster.sh and FAIL without it (no silent skip):
// ctest runs them in unit_pg, and the plain `unit` run filters them out by name ("pg store:").
#include <poll.h>

#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "milter/registry_cache.hpp"
#include "registry/pg_db.hpp"
#include "registry/pg_listener.hpp"
#include "registry/pg_schema.hpp"
#include "registry/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using namespace agentgate::testing;
using namespace std::chrono_literals;

struct PgFixture {
  FreshStore db{Backend::postgresql};
  std::unique_ptr<Store> store = open_store(db.url(), true);
  PgFixture() { store->migrate(); }
  // Identity "bot" and its grant "g1", valid for an hour, without quotas.
  void add_bot_with_grant() {
    store->write([&](StoreTx& tx) {
      policy::Identity bot = sample_identity();
      bot.id = "bot";
      tx.put_identity(bot);
      tx.insert_grant(sample_grant("g1", "bot", common::now_seconds(), 1h));
    });
  }
  // Runs SQL as the cluster's superuser, in the test database.
  pg::Result admin(const std::string& sql) {
    pg::Conn conn(db.url());
    return conn.query(sql);
  }
};

bool readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

// Waits for the feed's socket and drains until something arrives or the time is up.
std::optional<std::uint64_t> next_generation(PgListener& feed, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!readable(feed.socket(), 50ms)) continue;
    if (auto g = feed.drain()) return g;
  }
  return std::nullopt;
}

TEST_CASE("pg store: concurrent init applies every migration exactly once") {
  FreshStore db{Backend::postgresql};
  constexpr int kInits = 4;
  std::vector<std::unique_ptr<Store>> stores;
  for (int k = 0; k < kInits; ++k) stores.push_back(open_store(db.url(), true));
  std::vector<int> applied(kInits, -1);
  std::vector<std::string> errors(kInits);
  std::latch start(kInits);
  std::vector<std::thread> threads;
  for (int k = 0; k < kInits; ++k)
    threads.emplace_back([&, k] {
      auto i = static_cast<size_t>(k);
      start.arrive_and_wait();
      try {
        applied[i] = stores[i]->migrate();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK_MESSAGE(e.empty(), e);
  const int total = static_cast<int>(pg_migrations().size());
  int sum = 0, zeros = 0;
  for (int a : applied) {
    sum += a;
    zeros += a == 0;
  }
  CHECK(sum == total);
  CHECK(zeros == kInits - 1);
  CHECK(stores[0]->schema_version() == total);
  CHECK(stores[0]->migrate() == 0);
  CHECK(stores[0]->generation() == 0);
}

TEST_CASE("pg store: each committed write notifies its new generation once, a rollback never") {
  PgFixture f;
  PgListener feed(f.db.url());
  CHECK_FALSE(feed.drain());
  SUBCASE("one write, one notification carrying the new generation") {
    f.store->write([](StoreTx&) {});
    CHECK(next_generation(feed, 5s) == std::optional<std::uint64_t>(1));
    CHECK(f.store->generation() == 1);
    CHECK_FALSE(next_generation(feed, 300ms));
  }
  SUBCASE("a write refused half-way (before its NOTIFY) notifies nothing") {
    CHECK_THROWS_AS(f.store->write([](StoreTx& tx) {
      tx.insert_audit({1, "t", "a", "u", "x", "s", "{}", "p", "h"});
      throw std::runtime_error("refused half-way");
    }),
                    std::runtime_error);
    CHECK_FALSE(next_generation(feed, 300ms));
    CHECK(f.store->generation() == 0);
  }
  SUBCASE("a write refused at COMMIT, after its NOTIFY was queued, notifies nothing") {
    // A deferred constraint trigger fails the transaction only at COMMIT, after write() has
    // bumped the generation and called pg_notify: the notification must die with it.
    pg::Conn(f.db.url())
        .exec(
            "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$; "
            "CREATE CONSTRAINT TRIGGER refuse_commit AFTER UPDATE ON meta DEFERRABLE "
            "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()");
    CHECK_THROWS_AS(f.store->write([](StoreTx&) {}), StoreError);
    CHECK_FALSE(next_generation(feed, 300ms));
    CHECK(f.store->generation() == 0);
  }
  SUBCASE("several writes before a drain: the highest generation") {
    for (int k = 0; k < 3; ++k) f.store->write([](StoreTx&) {});
    std::this_thread::sleep_for(200ms);
    CHECK(next_generation(feed, 5s) == std::optional<std::uint64_t>(3));
  }
  SUBCASE("a notification that arrives with a ping's reply is kept for the next drain") {
    f.store->write([](StoreTx&) {});
    std::this_thread::sleep_for(200ms);
    feed.ping();
    CHECK(feed.drain() == std::optional<std::uint64_t>(1));
  }
  SUBCASE("per-message calls do not notify") {
    f.store->record_received("bot@agents.test", "<m@x>", {"a@x.test"}, common::now_seconds() + 1h);
    CHECK(f.store->spend_proof("j", "g-none", "d", kNow, 1) == ProofSpend::unknown_grant);
    CHECK_FALSE(next_generation(feed, 300ms));
  }
}

TEST_CASE("pg store: a broken connection is a StoreError, never an empty answer") {
  PgFixture f;
  SUBCASE("the feed's backend terminated: drain and ping throw") {
    PgListener feed(f.db.url());
    auto killed = f.admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
        "current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'");
    REQUIRE(killed.rows() == 1);
    CHECK(readable(feed.socket(), 5s));
    CHECK_THROWS_AS(feed.drain(), StoreError);
    CHECK_THROWS_AS(feed.ping(), StoreError);
  }
  SUBCASE("a store's backend terminated: the next call throws") {
    CHECK(f.store->generation() == 0);
    f.admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
        "current_database() AND pid <> pg_backend_pid()");
    CHECK_THROWS_AS(f.store->generation(), StoreError);
    CHECK_THROWS_AS(f.store->spend_proof("j", "g", "d", kNow, 1), StoreError);
  }
}

TEST_CASE("pg store: connection failures name the server, never the password") {
  struct Row {
    const char* name;
    const char* url;
  };
  const Row rows[] = {
      {"nothing listens on the port", "postgresql://agentgate:s3cret@127.0.0.1:1/agentgate"},
      {"a host that does not resolve", "postgresql://agentgate:s3cret@no-such-host.invalid/db"},
      {"password as a query parameter", "postgres://agentgate@127.0.0.1:1/db?password=s3cret"},
      {"a database that does not exist", ""},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      std::string url = *row.url ? row.url : pg_url_for(pg_admin_url(), "no_such_database");
      if (!*row.url) url.insert(url.find("@"), ":s3cret");  // trust auth ignores it
      std::string message;
      try {
        open_store(url, false);
      } catch (const StoreError& e) {
        message = e.what();
      }
      CAPTURE(message);
      CHECK_FALSE(message.empty());
      CHECK(message.find("s3cret") == std::string::npos);
      CHECK(message.find("***") != std::string::npos);
    }
  }
  SUBCASE("a URL libpq cannot parse is a bad URL, quoted without its password") {
    std::string message;
    try {
      open_store("postgresql://agentgate:s3cret@[::1/db", false);
    } catch (const std::invalid_argument& e) {
      message = e.what();
    }
    CAPTURE(message);
    CHECK_FALSE(message.empty());
    CHECK(message.find("s3cret") == std::string::npos);
  }
  SUBCASE("an unroutable host fails within connect_timeout") {
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(open_store("postgresql://agentgate:s3cret@10.255.255.1/db?connect_timeout=2"),
                    StoreError);
    CHECK(std::chrono::steady_clock::now() - start < 4s);
  }
}

TEST_CASE("pg text: valid_utf8 keeps well-formed UTF-8 and marks every other byte U+FFFD") {
  const std::string bad = "\xef\xbf\xbd";
  const struct {
    const char* name;
    std::string in, out;
  } rows[] = {
      {"ASCII", "plain text", "plain text"},
      {"two, three and four byte characters", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa7",
       "\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa7"},
      {"Latin-1 byte", "f\xfcr", "f" + bad + "r"},
      {"character cut at the end", "ab\xe2\x82", "ab" + bad + bad},
      {"stray continuation byte", "\x80x", bad + "x"},
      {"overlong encoding of '/'", "\xc0\xaf", bad + bad},
      {"UTF-16 surrogate", "\xed\xa0\x80", bad + bad + bad},
      {"above U+10FFFF", "\xf4\x90\x80\x80", bad + bad + bad + bad},
      {"NUL", std::string("a\0b", 3), "a" + bad + "b"},
      {"empty", "", ""},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(pg::valid_utf8(row.in) == row.out);
  }
}

TEST_CASE("pg store: redact_url removes the password wherever the URL carries it") {
  struct Row {
    const char* url;
    const char* redacted;
  };
  const Row rows[] = {
      {"postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"},
      {"postgresql://u@h/db", "postgresql://u@h/db"},
      {"postgresql://h/db?sslmode=require&password=pw",
       "postgresql://h/db?sslmode=require&password=***"},
      {"postgres://u:p@w@h/db", "postgres://u:***@h/db"},
      {"postgresql://u:pw@h1,h2:5433/db?password=x&a=b",
       "postgresql://u:***@h1,h2:5433/db?password=***&a=b"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.url) {
      CHECK(pg::redact_url(row.url) == row.redacted);
    }
  }
}

TEST_CASE("pg store: a failed statement carries its SQLSTATE") {
  PgFixture f;
  AuditRecord r{1, "t", "a", "u", "x", "s", "{}", "p", "h"};
  f.store->write([&](StoreTx& tx) { tx.insert_audit(r); });
  CHECK_THROWS_WITH_AS(f.store->write([&](StoreTx& tx) { tx.insert_audit(r); }),
                       doctest::Contains("SQLSTATE 23505"), StoreError);
  CHECK(f.store->generation() == 1);
}

// SQLite compares text byte by byte; a PostgreSQL database usually has a linguistic collation.
TEST_CASE("pg store: lists come in SQLite's byte order whatever the database's collation") {
  FreshStore db{Backend::postgresql, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"};
  auto store = open_store(db.url(), true);
  store->migrate();
  const std::vector<std::string> ids = {"b-bot", "B-bot", "a-bot", "_z-bot"};
  for (const auto& id : ids) {
    policy::Identity i = sample_identity();
    i.id = id;
    i.inbox = id + "@agents.example.com";
    i.principals = {"sasl:" + id};
    store->write([&](StoreTx& tx) { tx.put_identity(i); });
  }
  std::vector<std::string> listed;
  for (const auto& i : store->list_identities({})) listed.push_back(i.id);
  CHECK(listed == std::vector<std::string>{"B-bot", "_z-bot", "a-bot", "b-bot"});
  auto linguistic = pg::Conn(db.url()).query("SELECT id FROM identities ORDER BY id");
  CHECK(linguistic.row(0).text(0) != "B-bot");  // the collation this case is about is in force
}

TEST_CASE("pg store: a limited connection gives up on a lock held elsewhere") {
  // The mail path's connection (RegistryCache::kMailStatementLimit): a grant row locked by a
  // long transaction elsewhere must cost the message a tempfail, not its event loop.
  PgFixture f;
  f.add_bot_with_grant();
  pg::Conn holder(f.db.url());
  holder.query("BEGIN");
  holder.query("SELECT 1 FROM grants WHERE id = 'g1' FOR UPDATE");
  // Held until the check below is done, or 10 s: without the limit, the spend would wait, then
  // succeed.
  std::promise<void> done;
  std::thread release([&holder, finished = done.get_future()] {
    finished.wait_for(10s);
    try {
      holder.query("ROLLBACK");
    } catch (const std::exception&) {  // the last check then fails on the lock
    }
  });
  SUBCASE("the store, limited") {
    auto limited = open_store(f.db.url());
    limited->limit_statements(200ms);
    CHECK_THROWS_WITH_AS(limited->spend_proof("j1", "g1", "d", common::now_seconds() + 5min, 1),
                         doctest::Contains("57014"), StoreError);  // query_canceled
  }
  SUBCASE("the daemon's end-of-message connection, limited to kMailStatementLimit") {
    milter::RegistryCache cache(f.db.url(), 30s);
    std::string error;
    REQUIRE(cache.load(&error));
    policy::Verdict proven;
    proven.jti = "j1";
    proven.grant = "g1";
    proven.proof_digest = "d";
    proven.proof_expires_at = common::now_seconds() + 5min;
    policy::MessageFacts facts;
    facts.recipients = {"someone@example.net"};
    auto check = cache.session_checks(proven, facts, &error);
    CHECK(check.refusal == std::optional(policy::Reason::store_unavailable));
  }
  done.set_value();
  release.join();
  auto unlimited = open_store(f.db.url());
  CHECK(unlimited->spend_proof("j1", "g1", "d", common::now_seconds() + 5min, 1) ==
        ProofSpend::spent);
}

TEST_CASE("pg store: connects only where it can write, unless the URL says otherwise") {
  // A read-only database stands in for a hot standby: a URL naming several hosts must reach
  // the primary, since every connection writes (a spend, the audit log).
  PgFixture f;
  f.admin(fmt::format("ALTER DATABASE {} SET default_transaction_read_only = on", f.db.database()));
  CHECK_THROWS_WITH_AS(open_store(f.db.url()), doctest::Contains("read-only"), StoreError);
  auto any = f.db.url() + (f.db.url().find('?') == std::string::npos ? "?" : "&") +
             "target_session_attrs=any";
  CHECK(open_store(any)->schema_version() > 0);
}

}  // namespace
}  // namespace agentgate::registry
