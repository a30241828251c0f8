// The audit chain (SPEC section 3): records appended through the store verify, and any edit
// made behind the store's back (a field, a link, a deleted record) is reported at the first
// record that no longer verifies. Tampering goes through the database's own client library
// (sqlite3 C API or libpq), as an attacker would; the tamper SQL is valid on both backends.
// Concurrent writers on separate connections never fork the chain.
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "policy/digest.hpp"
#include "registry/audit.hpp"
#include "registry/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using agentgate::testing::FreshStore;

AuditRecord sample_record() {
  AuditRecord r;
  r.seq = 1;
  r.at = "2026-06-01T12:00:00.000Z";
  r.actor = "bob";
  r.os_user = "root";
  r.action = "identity.approve";
  r.subject = "helpdesk-bot";
  r.details = R"({"role":"owner","comment":"ok","nested":{"z":1,"a":[2,1]}})";
  r.prev_hash = kGenesisHash;
  return r;
}

TEST_CASE("audit: the canonical form is key-sorted, compact and embeds details as an object") {
  CHECK(canonical_audit_json(sample_record()) ==
        R"({"action":"identity.approve","actor":"bob","at":"2026-06-01T12:00:00.000Z",)"
        R"("details":{"comment":"ok","nested":{"a":[2,1],"z":1},"role":"owner"},)"
        R"("os_user":"root","prev_hash":")" +
            kGenesisHash + R"(","seq":1,"subject":"helpdesk-bot"})");
}

TEST_CASE("audit: the hash is SHA-256 of the canonical form and covers every field") {
  const AuditRecord base = sample_record();
  CHECK(audit_hash(base) == policy::sha256_hex(canonical_audit_json(base)));
  CHECK(audit_hash(base) == audit_hash(sample_record()));  // stable across calls
  struct Row {
    const char* field;
    void (*change)(AuditRecord&);
  };
  const Row rows[] = {
      {"seq", [](AuditRecord& r) { r.seq = 2; }},
      {"at", [](AuditRecord& r) { r.at = "2026-06-01T12:00:00.001Z"; }},
      {"actor", [](AuditRecord& r) { r.actor = "eve"; }},
      {"os_user", [](AuditRecord& r) { r.os_user = "eve"; }},
      {"action", [](AuditRecord& r) { r.action = "identity.revoke"; }},
      {"subject", [](AuditRecord& r) { r.subject = "other-bot"; }},
      {"details value", [](AuditRecord& r) { r.details = R"({"role":"ig"})"; }},
      {"details made unparseable", [](AuditRecord& r) { r.details = "{not json"; }},
      {"prev_hash", [](AuditRecord& r) { r.prev_hash = std::string(64, '1'); }},
  };
  for (const auto& row : rows) {
    SUBCASE(row.field) {
      AuditRecord changed = base;
      row.change(changed);
      CHECK(audit_hash(changed) != audit_hash(base));
    }
  }
  SUBCASE("the stored hash itself is not part of what is hashed") {
    AuditRecord r = base;
    r.hash = "anything";
    CHECK(audit_hash(r) == audit_hash(base));
  }
  SUBCASE("details key order and spacing do not change the canonical form") {
    AuditRecord r = base;
    r.details = R"({ "nested": {"a": [2, 1], "z": 1}, "role": "owner", "comment": "ok" })";
    CHECK(canonical_audit_json(r) == canonical_audit_json(base));
  }
}

struct Chain {
  FreshStore db;
  std::unique_ptr<Store> store = open_store(db.url(), true);

  Chain() { store->migrate(); }
  AuditRecord append(const std::string& action, const std::string& subject) {
    AuditRecord out;
    store->write([&](StoreTx& tx) {
      out = append_audit(tx, {"bob", "root", action, subject, {{"n", subject}}});
    });
    return out;
  }
  void tamper(const std::string& sql) { REQUIRE_NOTHROW(db.exec_sql(sql)); }
  ChainCheck verify() { return verify_audit_chain(store->audit_records(1)); }
};

TEST_CASE("audit: records appended through the store link into a verifiable chain") {
  Chain c;
  CHECK(c.verify().ok);
  CHECK(c.verify().records == 0);
  AuditRecord first = c.append("identity.request", "a");
  CHECK(first.seq == 1);
  CHECK(first.prev_hash == kGenesisHash);
  CHECK(first.hash == audit_hash(first));
  CHECK(first.at.size() == 24);  // 2026-06-01T12:00:00.000Z
  AuditRecord second = c.append("identity.approve", "a");
  CHECK(second.seq == 2);
  CHECK(second.prev_hash == first.hash);
  for (int i = 0; i < 3; ++i) c.append("identity.approve", "b");
  const auto records = c.store->audit_records(1);
  REQUIRE(records.size() == 5);
  CHECK(records[1].hash == second.hash);
  CHECK(records[1].details == R"({"n":"a"})");
  const ChainCheck check = verify_audit_chain(records);
  CHECK(check.ok);
  CHECK(check.records == 5);
  CHECK(check.first_bad_seq == 0);
  CHECK(check.problem.empty());
  CHECK(c.store->audit_records(4).size() == 2);
}

TEST_CASE("audit: tampering is reported at the first record that no longer verifies") {
  struct Row {
    const char* name;
    const char* sql;
    std::int64_t first_bad;
    const char* problem;
  };
  const Row rows[] = {
      {"details of record 3 edited", "UPDATE audit SET details = '{\"n\":\"x\"}' WHERE seq = 3", 3,
       "contents"},
      {"actor of record 2 edited", "UPDATE audit SET actor = 'mallory' WHERE seq = 2", 2,
       "contents"},
      {"os_user of record 5 edited", "UPDATE audit SET os_user = 'nobody' WHERE seq = 5", 5,
       "contents"},
      {"time of record 1 edited", "UPDATE audit SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 1",
       1, "contents"},
      {"middle record 3 deleted", "DELETE FROM audit WHERE seq = 3", 4, "expected record 3"},
      {"record 3 renumbered", "UPDATE audit SET seq = 30 WHERE seq = 3", 4, "expected record 3"},
      {"prev_hash of record 4 changed",
       "UPDATE audit SET prev_hash = (SELECT hash FROM audit WHERE seq = 2) WHERE seq = 4", 4,
       "prev_hash"},
      {"hash of record 5 replaced", "UPDATE audit SET hash = prev_hash WHERE seq = 5", 5,
       "contents"},
      {"first record's prev_hash no longer genesis",
       "UPDATE audit SET prev_hash = hash WHERE seq = 1", 1, "prev_hash"},
      {"details of record 3 made unparseable", "UPDATE audit SET details = 'x' WHERE seq = 3", 3,
       "contents"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      Chain c;
      for (int i = 0; i < 5; ++i) c.append("identity.approve", "id-" + std::to_string(i));
      REQUIRE(c.verify().ok);
      c.tamper(row.sql);
      const ChainCheck check = c.verify();
      CHECK_FALSE(check.ok);
      CHECK(check.first_bad_seq == row.first_bad);
      CHECK(check.problem.find(row.problem) != std::string::npos);
    }
  }
}

TEST_CASE("audit: a consistent rewrite of one record still breaks the next link") {
  Chain c;
  for (int i = 0; i < 4; ++i) c.append("identity.approve", "id-" + std::to_string(i));
  auto records = c.store->audit_records(1);
  AuditRecord forged = records[1];
  forged.actor = "mallory";
  forged.hash = audit_hash(forged);  // the forger recomputes this record's own hash
  c.tamper("UPDATE audit SET actor = 'mallory', hash = '" + forged.hash + "' WHERE seq = 2");
  const ChainCheck check = c.verify();
  CHECK_FALSE(check.ok);
  CHECK(check.first_bad_seq == 3);
  CHECK(check.problem.find("prev_hash") != std::string::npos);
}

TEST_CASE("audit: concurrent writers on separate connections never fork the chain") {
  Chain c;
  constexpr int kWriters = 4, kEach = 5;
  std::vector<std::unique_ptr<Store>> stores;
  for (int k = 0; k < kWriters; ++k) stores.push_back(open_store(c.db.url()));
  std::latch start(kWriters);
  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> threads;
  for (int k = 0; k < kWriters; ++k)
    threads.emplace_back([&, k] {
      auto i = static_cast<size_t>(k);
      start.arrive_and_wait();
      try {
        for (int n = 0; n < kEach; ++n)
          stores[i]->write([&](StoreTx& tx) {
            append_audit(tx, {"bob", "root", "identity.approve", "w" + std::to_string(k), {}});
          });
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK_MESSAGE(e.empty(), e);
  const ChainCheck check = c.verify();
  CHECK(check.ok);
  CHECK(check.records == kWriters * kEach);
  CHECK(c.store->generation() == static_cast<std::uint64_t>(kWriters * kEach));
}

TEST_CASE("audit: verify_audit_chain on hand-built chains") {
  std::vector<AuditRecord> chain;
  std::string prev = kGenesisHash;
  for (std::int64_t seq = 1; seq <= 3; ++seq) {
    AuditRecord r = sample_record();
    r.seq = seq;
    r.prev_hash = prev;
    r.hash = audit_hash(r);
    prev = r.hash;
    chain.push_back(r);
  }
  CHECK(verify_audit_chain(chain).ok);
  SUBCASE("a chain that does not start at 1") {
    chain.erase(chain.begin());
    auto check = verify_audit_chain(chain);
    CHECK_FALSE(check.ok);
    CHECK(check.first_bad_seq == 2);
  }
  SUBCASE("records out of order") {
    std::swap(chain[1], chain[2]);
    auto check = verify_audit_chain(chain);
    CHECK_FALSE(check.ok);
    CHECK(check.first_bad_seq == 3);
  }
  SUBCASE("an empty chain verifies") {
    CHECK(verify_audit_chain({}).ok);
  }
}

}  // namespace
}  // namespace agentgate::registry
