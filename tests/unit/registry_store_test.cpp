// The Store backends: schema migration, the generation counter and its transaction rules,
// identity persistence of every field, and the lookups governance relies on (agent names, live
// inboxes and principals). "store:" cases run against the backend store_support.hpp selects
// (SQLite, or PostgreSQL under ctest -R unit_pg); "sqlite store:" cases are about the SQLite
// file itself (a replaced file, the WAL cut back after a burst) and run only there.
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include "common/timefmt.hpp"
#include "registry/sqlite_db.hpp"
#include "registry/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using namespace agentgate::testing;
using policy::Capability;
using policy::Identity;
using policy::Status;

struct Fixture {
  FreshStore db;
  std::string url = db.url();
  std::unique_ptr<Store> store = open_store(url, true);
  Fixture() { store->migrate(); }
  void put(const Identity& i) {
    store->write([&](StoreTx& tx) { tx.put_identity(i); });
  }
  template <typename T, typename F>
  T read(F&& f) {
    T out{};
    store->read([&](StoreTx& tx) { out = f(tx); });
    return out;
  }
};

Identity with(std::string id, std::string inbox, std::string principal, Status status) {
  Identity i = sample_identity();
  i.id = std::move(id);
  i.inbox = std::move(inbox);
  i.principals = {std::move(principal)};
  i.status = status;
  return i;
}

TEST_CASE("store: init migrates once and is idempotent") {
  FreshStore db;
  auto store = open_store(db.url(), true);
  CHECK(store->schema_version() == 0);
  const int latest = store->migrate();  // every migration, in one go
  CHECK(latest >= 2);
  CHECK(store->schema_version() == latest);
  CHECK(store->migrate() == 0);
  CHECK(store->schema_version() == latest);
  CHECK(store->generation() == 0);
  SUBCASE("a second connection sees the same schema and migrates nothing") {
    auto again = open_store(db.url(), false);
    CHECK(again->schema_version() == latest);
    CHECK(again->migrate() == 0);
  }
}

TEST_CASE("store: an uninitialised store refuses every data call with a StoreError, never empty") {
  FreshStore db;
  { auto create = open_store(db.url(), true); }  // SQLite: creates the empty file
  for (bool create : {true, false}) {
    CAPTURE(create);
    auto store = open_store(db.url(), create);
    CHECK(store->schema_version() == 0);
    CHECK_THROWS_WITH_AS(store->generation(), doctest::Contains("agentgatectl init"), StoreError);
    CHECK_THROWS_AS(store->load_registry(), StoreError);
    CHECK_THROWS_AS(store->audit_records(1), StoreError);
    CHECK_THROWS_AS(store->write([](StoreTx&) {}), StoreError);
    CHECK_THROWS_AS(store->read([](StoreTx&) {}), StoreError);
    CHECK_THROWS_AS(store->list_identities({}), StoreError);
    CHECK_THROWS_AS(store->spend_proof("j", "g", "d", kNow, 1), StoreError);
    CHECK_THROWS_AS(store->find_received("a@b", "<m@x>"), StoreError);
    CHECK(store->schema_version() == 0);
  }
}

TEST_CASE("sqlite store: a missing file or directory is a StoreError") {
  TempDir dir;
  SUBCASE("a missing file opened without create") {
    CHECK_THROWS_AS(open_store("sqlite://" + dir.file("missing.db"), false), StoreError);
  }
  SUBCASE("a directory that does not exist") {
    CHECK_THROWS_AS(open_store("sqlite://" + dir.file("no/such/dir/r.db"), true), StoreError);
  }
}

TEST_CASE("store: open_store dispatches on the URL scheme") {
  CHECK_THROWS_AS(open_store("sqlite://", true), std::invalid_argument);
  CHECK_THROWS_AS(open_store("mysql://db", true), std::invalid_argument);
  CHECK_THROWS_AS(open_store("/var/lib/agentgate/registry.db", true), std::invalid_argument);
  // port 1: nothing listens there, so the PostgreSQL backend's connect fails at once
  CHECK_THROWS_AS(open_store("postgresql://127.0.0.1:1/agentgate", false), StoreError);
  CHECK_THROWS_AS(open_store("postgres://127.0.0.1:1/agentgate", false), StoreError);
}

TEST_CASE("store: the generation counts committed writes only") {
  Fixture f;
  CHECK(f.store->generation() == 0);
  f.put(sample_identity());
  CHECK(f.store->generation() == 1);
  f.store->write([](StoreTx&) {});
  CHECK(f.store->generation() == 2);
  SUBCASE("an exception inside write rolls back its changes and the bump") {
    Identity other = with("other-bot", "other@agents.example.com", "sasl:other", Status::active);
    CHECK_THROWS_AS(f.store->write([&](StoreTx& tx) {
      tx.put_identity(other);
      throw std::runtime_error("refused half-way");
    }),
                    std::runtime_error);
    CHECK(f.store->generation() == 2);
    CHECK_FALSE(
        f.read<bool>([](StoreTx& tx) { return tx.find_identity("other-bot").has_value(); }));
    CHECK_FALSE(f.read<bool>([](StoreTx& tx) { return tx.is_agent_name("sasl:other"); }));
    f.store->write([](StoreTx&) {});
    CHECK(f.store->generation() == 3);
  }
  SUBCASE("a StoreError inside write (duplicate audit seq) rolls back too") {
    AuditRecord r{1, "t", "a", "u", "x", "s", "{}", "p", "h"};
    f.store->write([&](StoreTx& tx) { tx.insert_audit(r); });
    CHECK(f.store->generation() == 3);
    CHECK_THROWS_AS(f.store->write([&](StoreTx& tx) {
      tx.put_identity(with("late-bot", "late@agents.example.com", "sasl:late", Status::active));
      tx.insert_audit(r);
    }),
                    StoreError);
    CHECK(f.store->generation() == 3);
    CHECK(f.store->audit_records(1).size() == 1);
    CHECK_FALSE(f.read<bool>([](StoreTx& tx) { return tx.find_identity("late-bot").has_value(); }));
  }
  SUBCASE("reads do not bump the generation") {
    f.store->read([](StoreTx& tx) { (void)tx.find_identity("helpdesk-bot"); });
    (void)f.store->load_registry();
    CHECK(f.store->generation() == 2);
  }
  SUBCASE("another connection sees the same generation") {
    auto other = open_store(f.url, false);
    CHECK(other->generation() == 2);
    other->write([](StoreTx&) {});
    CHECK(f.store->generation() == 3);
  }
}

Identity every_field() {
  Identity i;
  i.id = "full-bot";
  i.inbox = "full@agents.example.com";
  i.purpose = "exercises every column, including 'quotes' and unicode: é";
  i.business_owner = "bob";
  i.system_owner = "sam";
  i.requester = "rita";
  i.ig_reviewer = "alice";
  i.actions = policy::CapabilitySet::of(
      {Capability::receive, Capability::reply, Capability::send, Capability::invoke});
  i.principals = {"sasl:full", "cert:CN=full,O=Example"};
  i.targets[Capability::reply] = {"*@example.com"};
  i.targets[Capability::send] = {"ops@example.com", "@partner.example.org", "a=b@x.org"};
  i.accept_from = {"*@*.example.com", "boss@example.com"};
  i.grant_issuers = {"orchestrator", "scheduler"};
  i.expires_at = kNow + std::chrono::days(30);
  i.revocation_trigger = "project ends";
  i.credential_type = "client-cert";
  i.status = Status::owner_approved;
  i.created_at = kNow - std::chrono::days(2);
  i.updated_at = kNow - std::chrono::hours(1);
  i.round = 3;
  i.approvals = {{policy::ApprovalRole::owner, "bob", kNow - std::chrono::hours(3), "fine"},
                 {policy::ApprovalRole::system, "sam", kNow - std::chrono::hours(2), ""}};
  i.renewal_expires_at = kNow + std::chrono::days(60);
  i.status_reason = "renewal";
  return i;
}

void check_same(const Identity& got, const Identity& want, bool with_approvals) {
  CHECK(got.id == want.id);
  CHECK(got.inbox == want.inbox);
  CHECK(got.purpose == want.purpose);
  CHECK(got.business_owner == want.business_owner);
  CHECK(got.system_owner == want.system_owner);
  CHECK(got.requester == want.requester);
  CHECK(got.ig_reviewer == want.ig_reviewer);
  CHECK(got.actions == want.actions);
  CHECK(got.principals == want.principals);
  CHECK(got.targets == want.targets);
  CHECK(got.accept_from == want.accept_from);
  CHECK(got.grant_issuers == want.grant_issuers);
  CHECK(got.expires_at == want.expires_at);
  CHECK(got.revocation_trigger == want.revocation_trigger);
  CHECK(got.credential_type == want.credential_type);
  CHECK(got.status == want.status);
  CHECK(got.created_at == want.created_at);
  CHECK(got.updated_at == want.updated_at);
  CHECK(got.round == want.round);
  CHECK(got.renewal_expires_at == want.renewal_expires_at);
  CHECK(got.status_reason == want.status_reason);
  if (!with_approvals) return;
  REQUIRE(got.approvals.size() == want.approvals.size());
  for (size_t k = 0; k < want.approvals.size(); ++k) {
    CHECK(got.approvals[k].role == want.approvals[k].role);
    CHECK(got.approvals[k].actor == want.approvals[k].actor);
    CHECK(got.approvals[k].at == want.approvals[k].at);
    CHECK(got.approvals[k].comment == want.approvals[k].comment);
  }
}

TEST_CASE("store: put and find round-trip every identity field") {
  Fixture f;
  SUBCASE("every field set") {
    const Identity want = every_field();
    f.put(want);
    auto got =
        f.read<std::optional<Identity>>([](StoreTx& tx) { return tx.find_identity("full-bot"); });
    REQUIRE(got.has_value());
    check_same(*got, want, true);
  }
  SUBCASE("optional and list fields empty") {
    Identity want = every_field();
    want.principals.clear();
    want.targets.clear();
    want.accept_from.clear();
    want.grant_issuers.clear();
    want.approvals.clear();
    want.renewal_expires_at.reset();
    want.ig_reviewer.clear();
    f.put(want);
    auto got =
        f.read<std::optional<Identity>>([](StoreTx& tx) { return tx.find_identity("full-bot"); });
    REQUIRE(got.has_value());
    check_same(*got, want, true);
  }
  SUBCASE("a replace keeps earlier approvals of the round and drops old principals") {
    Identity i = every_field();
    f.put(i);
    i.approvals.push_back({policy::ApprovalRole::ig, "alice", kNow, "ok"});
    i.principals = {"sasl:renamed"};
    f.put(i);
    auto got =
        f.read<std::optional<Identity>>([](StoreTx& tx) { return tx.find_identity("full-bot"); });
    REQUIRE(got.has_value());
    check_same(*got, i, true);
    CHECK_FALSE(f.read<bool>([](StoreTx& tx) { return tx.is_agent_name("sasl:full"); }));
    CHECK(f.read<bool>([](StoreTx& tx) { return tx.is_agent_name("sasl:renamed"); }));
  }
  SUBCASE("approvals of an earlier round are not loaded") {
    Identity i = every_field();
    f.put(i);
    i.round = 4;
    i.approvals.clear();
    f.put(i);
    auto got =
        f.read<std::optional<Identity>>([](StoreTx& tx) { return tx.find_identity("full-bot"); });
    REQUIRE(got.has_value());
    CHECK(got->approvals.empty());
  }
  SUBCASE("load_registry and list_identities return the identity without approvals") {
    const Identity want = every_field();
    f.put(want);
    auto data = f.store->load_registry();
    CHECK(data.generation == 1);
    REQUIRE(data.identities.size() == 1);
    check_same(data.identities[0], want, false);
    auto listed = f.store->list_identities({});
    REQUIRE(listed.size() == 1);
    check_same(listed[0], want, false);
  }
  SUBCASE("an unknown id is not found") {
    CHECK_FALSE(f.read<bool>([](StoreTx& tx) { return tx.find_identity("nobody").has_value(); }));
  }
}

TEST_CASE("store: is_agent_name knows ids, inboxes and principals") {
  Fixture f;
  Identity i = sample_identity();
  i.principals = {"sasl:helpdesk", "cert:CN=helpdesk"};
  f.put(i);
  f.put(with("old-bot", "old@agents.example.com", "sasl:old", Status::revoked));
  struct Row {
    const char* name;
    bool agent;
  };
  const Row rows[] = {
      {"helpdesk-bot", true},
      {"helpdesk@agents.example.com", true},
      {"HelpDesk@Agents.Example.COM", true},
      {"sasl:helpdesk", true},
      {"helpdesk", true},
      {"cert:CN=helpdesk", true},
      {"CN=helpdesk", true},
      {"old-bot", true},
      {"sasl:old", true},
      {"old", true},
      {"bob", false},
      {"sasl:bob", false},
      {"agents.example.com", false},
      {"helpdesk-bo", false},
      {"cert:helpdesk", false},
      {"", false},
      {"' OR 1=1 --", false},
  };
  for (const auto& row : rows) {
    SUBCASE((std::string("'") + row.name + "'").c_str()) {
      CHECK(f.read<bool>([&](StoreTx& tx) { return tx.is_agent_name(row.name); }) == row.agent);
    }
  }
}

TEST_CASE("store: live lookups ignore revoked and rejected identities") {
  Fixture f;
  const std::string inbox = "helpdesk@agents.example.com";
  f.put(with("gone-bot", inbox, "sasl:helpdesk", Status::revoked));
  f.put(with("nope-bot", inbox, "sasl:helpdesk", Status::rejected));
  auto live_inbox = [&] {
    return f.read<std::optional<Identity>>(
        [&](StoreTx& tx) { return tx.find_live_by_inbox(inbox); });
  };
  auto live_principal = [&] {
    return f.read<std::optional<std::string>>(
        [](StoreTx& tx) { return tx.live_identity_for_principal("sasl:helpdesk"); });
  };
  CHECK_FALSE(live_inbox().has_value());
  CHECK_FALSE(live_principal().has_value());
  SUBCASE("a live identity is found whatever its lifecycle stage") {
    for (auto status : {Status::requested, Status::active, Status::suspended, Status::expired}) {
      CAPTURE(policy::to_string(status));
      f.put(with("new-bot", inbox, "sasl:helpdesk", status));
      auto found = live_inbox();
      REQUIRE(found.has_value());
      CHECK(found->id == "new-bot");
      CHECK(live_principal() == std::optional<std::string>("new-bot"));
    }
  }
  SUBCASE("inbox lookups take the normalised inbox") {
    f.put(with("new-bot", inbox, "sasl:helpdesk", Status::active));
    CHECK(f.read<bool>([](StoreTx& tx) {
      return tx.find_live_by_inbox("other@agents.example.com").has_value();
    }) == false);
  }
}

TEST_CASE("store: list_identities filters by stored status and expiry") {
  Fixture f;
  Identity a = with("a-bot", "a@agents.example.com", "sasl:a", Status::active);
  a.expires_at = kNow + std::chrono::days(1);
  Identity b = with("b-bot", "b@agents.example.com", "sasl:b", Status::active);
  b.expires_at = kNow + std::chrono::days(40);
  Identity c = with("c-bot", "c@agents.example.com", "sasl:c", Status::revoked);
  c.expires_at = kNow + std::chrono::days(2);
  for (const auto& i : {c, b, a}) f.put(i);
  auto ids = [&](IdentityFilter filter) {
    std::vector<std::string> out;
    for (const auto& i : f.store->list_identities(filter)) out.push_back(i.id);
    return out;
  };
  CHECK(ids({}) == std::vector<std::string>{"a-bot", "b-bot", "c-bot"});
  CHECK(ids({Status::active, std::nullopt}) == std::vector<std::string>{"a-bot", "b-bot"});
  CHECK(ids({std::nullopt, kNow + std::chrono::days(3)}) ==
        std::vector<std::string>{"a-bot", "c-bot"});
  CHECK(ids({Status::active, kNow + std::chrono::days(3)}) == std::vector<std::string>{"a-bot"});
  CHECK(ids({Status::suspended, std::nullopt}).empty());
}

// With policy.local_part_case_sensitive = true the registry stores "Bot@agents.example.com"
// as is; is_agent_name must still recognise it in any case, or the agent's exact inbox would
// pass the "no actor is an agent" rule.
TEST_CASE("store: is_agent_name knows an inbox stored with an upper-case local part") {
  Fixture f;
  f.put(with("case-bot", "Bot@agents.example.com", "sasl:case", Status::active));
  for (const char* name : {"Bot@agents.example.com", "Bot@Agents.Example.com"}) {
    SUBCASE(name) {
      CHECK(f.read<bool>([&](StoreTx& tx) { return tx.is_agent_name(name); }));
    }
  }
}

TEST_CASE("sqlite store: a store file replaced or removed under an open connection is an error") {
  TempDir dir;
  auto path = dir.file("r.db");
  auto store = open_store("sqlite://" + path, true);
  store->migrate();
  CHECK(store->generation() == 0);
  SUBCASE("replaced by rename (a restore, or garbage moved in)") {
    auto other = open_store("sqlite://" + dir.file("other.db"), true);
    other->migrate();
    std::filesystem::rename(dir.file("other.db"), path);
    CHECK_THROWS_AS(store->generation(), StoreError);
    auto reopened = open_store("sqlite://" + path, false);
    CHECK(reopened->generation() == 0);
  }
  SUBCASE("removed") {
    std::filesystem::remove(path);
    CHECK_THROWS_AS(store->generation(), StoreError);
  }
}

TEST_CASE("sqlite store: after a burst the WAL file is cut back to its limit") {
  TempDir dir;
  auto path = dir.file("burst.db");
  auto store = open_store("sqlite://" + path, true);
  store->migrate();
  {  // a burst through a connection of its own, which sets no limit
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    std::string burst = "CREATE TABLE burst (b BLOB); BEGIN;";
    for (int i = 0; i < 72; ++i) burst += "INSERT INTO burst VALUES (zeroblob(1048576));";
    int rc = sqlite3_exec(db, (burst + "COMMIT;").c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
  }
  const auto wal = path + "-wal";
  REQUIRE(std::filesystem::file_size(wal) > sqlite::kWalSizeLimit);
  store->housekeeping();  // the checkpoint copies every frame back
  // The next write starts the WAL over and cuts the file back.
  store->record_received("bot@agents.test", "<m@x>", {"a@x.test"},
                         common::now_seconds() + std::chrono::hours(1));
  CHECK(std::filesystem::file_size(wal) <= sqlite::kWalSizeLimit);
  CHECK(store->find_received("bot@agents.test", "<m@x>").has_value());
}

TEST_CASE("sqlite store: a purge backlog goes on at the next call, one gated batch at a time") {
  FreshStore db(Backend::sqlite);
  auto store = open_store(db.url(), true);
  store->migrate();
  // 70,000 expired ledger rows: more than one housekeeping's budget of batches.
  db.exec_sql(
      "INSERT INTO ledger (inbox, message_id, participants, expires_at) "
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 70000) "
      "SELECT 'bot@agents.test', '<' || i || '@x>', 'a@x.test', 1 FROM n");
  auto rows = [&] { return db.scalar("SELECT COUNT(*) FROM ledger"); };
  std::mutex turn;
  int batches = 0;
  bool released = true;  // every batch's turn ended before the next began
  Store::BatchGate gate = [&] {
    ++batches;
    if (!turn.try_lock()) released = false;
    turn.unlock();
    return std::unique_lock(turn);
  };
  store->housekeeping(gate);
  CHECK(batches > 1);
  CHECK(released);
  CHECK(rows() > 0);  // the budget ran out first
  CHECK(rows() < 70000);
  store->housekeeping(gate);  // a moment later: the backlog goes on
  CHECK(rows() == 0);
  batches = 0;
  store->housekeeping(gate);  // nothing left: back to once a minute
  CHECK(batches == 0);
}

}  // namespace
}  // namespace agentgate::registry
