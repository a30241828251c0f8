// The SQLite backend of Store: the embedded default for a single MTA host. WAL mode lets the
// daemon read while agentgatectl writes; writes take the lock up front (BEGIN IMMEDIATE) so two
// writers queue instead of failing half-way.
#include "registry/sqlite_store.hpp"

#include <sys/stat.h>

#include <exception>
#include <filesystem>

#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "policy/digest.hpp"
#include "registry/codec.hpp"
#include "registry/row_codec.hpp"
#include "registry/sqlite_db.hpp"
#include "registry/sqlite_quarantine.hpp"
#include "registry/sqlite_schema.hpp"

namespace agentgate::registry {
namespace {

using policy::Identity;
using sqlite::Stmt;
using sqlite::Transaction;

constexpr auto kPurgeEvery = std::chrono::minutes(1);
constexpr int kPurgeBatch = 1024;  // rows per write transaction (a few ms)
constexpr int kPurgeBatches = 64;  // per housekeeping call; a backlog goes on at the next poll

class SqliteTx final : public StoreTx {
 public:
  explicit SqliteTx(sqlite::Db& db) : db_(db) {}

  std::optional<Identity> find_identity(std::string_view id) override {
    Stmt s(db_, fmt::format("SELECT {} FROM identities WHERE id = ?1", kIdentityColumns));
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    auto identity = read_identity(s);
    load_approvals(identity);
    return identity;
  }

  std::optional<Identity> find_live_by_inbox(std::string_view inbox) override {
    Stmt s(db_, fmt::format("SELECT {} FROM identities WHERE inbox = ?1 AND status NOT "
                            "IN ('revoked', 'rejected')",
                            kIdentityColumns));
    s.bind(1, inbox);
    if (!s.step()) return std::nullopt;
    return read_identity(s);
  }

  std::optional<Identity> find_by_inbox(std::string_view inbox) override {
    Stmt s(db_, fmt::format("SELECT {} FROM identities WHERE inbox = ?1 ORDER BY status "
                            "IN ('revoked', 'rejected'), updated_at DESC LIMIT 1",
                            kIdentityColumns));
    s.bind(1, inbox);
    if (!s.step()) return std::nullopt;
    return read_identity(s);
  }

  bool is_agent_name(std::string_view name) override {
    Stmt s(db_,
           "SELECT 1 FROM identities WHERE id = ?1 OR lower(inbox) = lower(?1) UNION ALL "
           "SELECT 1 FROM principals WHERE principal IN (?1, 'sasl:' || ?1, 'cert:' || ?1) "
           "LIMIT 1");
    s.bind(1, name);
    return s.step();
  }

  std::optional<std::string> live_identity_for_principal(std::string_view principal) override {
    Stmt s(db_,
           "SELECT i.id FROM principals p JOIN identities i ON i.id = p.identity_id "
           "WHERE p.principal = ?1 AND i.status NOT IN ('revoked', 'rejected') LIMIT 1");
    s.bind(1, principal);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  void put_identity(const Identity& i) override {
    Stmt s(db_,
           fmt::format("INSERT OR REPLACE INTO identities ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                       "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
                       kIdentityColumns));
    s.bind(1, i.id).bind(2, i.inbox).bind(3, policy::to_string(i.status)).bind(4, i.purpose);
    s.bind(5, i.business_owner).bind(6, i.system_owner).bind(7, i.requester).bind(8, i.ig_reviewer);
    s.bind(9, std::int64_t{i.actions.bits()}).bind(10, join_lines(i.principals));
    s.bind(11, encode_targets(i.targets)).bind(12, join_lines(i.accept_from));
    s.bind(13, join_lines(i.grant_issuers)).bind(14, secs(i.expires_at));
    s.bind(15, i.revocation_trigger).bind(16, i.credential_type).bind(17, secs(i.created_at));
    s.bind(18, secs(i.updated_at)).bind(19, std::int64_t{i.round});
    s.bind_opt(20, i.renewal_expires_at ? std::optional<std::int64_t>(secs(*i.renewal_expires_at))
                                        : std::nullopt);
    s.bind(21, i.status_reason);
    s.run();
    Stmt del(db_, "DELETE FROM principals WHERE identity_id = ?1");
    del.bind(1, i.id).run();
    for (const auto& p : i.principals) {
      Stmt ins(db_, "INSERT OR IGNORE INTO principals(principal, identity_id) VALUES (?1, ?2)");
      ins.bind(1, p).bind(2, i.id).run();
    }
    // The round's approvals are exactly i.approvals: a rejected renewal clears them.
    Stmt del_approvals(db_, "DELETE FROM approvals WHERE identity_id = ?1 AND round = ?2");
    del_approvals.bind(1, i.id).bind(2, std::int64_t{i.round}).run();
    for (const auto& a : i.approvals) {
      Stmt ins(db_,
               "INSERT OR IGNORE INTO approvals(identity_id, round, role, actor, at, comment) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      ins.bind(1, i.id).bind(2, std::int64_t{i.round}).bind(3, policy::to_string(a.role));
      ins.bind(4, a.actor).bind(5, secs(a.at)).bind(6, a.comment).run();
    }
  }

  std::optional<policy::Grant> find_grant(std::string_view id) override {
    Stmt s(db_, fmt::format("SELECT {} FROM grants WHERE id = ?1", kGrantColumns));
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_grant(s);
  }

  void insert_grant(const policy::Grant& g) override {
    Stmt s(db_,
           "INSERT INTO grants (id, identity_id, task_id, purpose, actions, targets, public_key, "
           "issued_by, issued_at, expires_at, max_messages, max_recipients) VALUES "
           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    s.bind(1, g.id).bind(2, g.identity_id).bind(3, g.task_id).bind(4, g.purpose);
    s.bind(5, std::int64_t{g.actions.bits()}).bind(6, encode_targets(g.targets));
    s.bind(7, policy::base64url_encode(g.public_key)).bind(8, g.issued_by);
    s.bind(9, secs(g.issued_at)).bind(10, secs(g.expires_at));
    s.bind_opt(11, g.max_messages).bind_opt(12, g.max_recipients).run();
  }

  void mark_grant_revoked(const policy::Grant& g) override {
    Stmt s(db_,
           "UPDATE grants SET revoked = 1, revoked_at = ?2, revoked_by = ?3, revoke_reason = ?4 "
           "WHERE id = ?1");
    s.bind(1, g.id).bind(2, secs(g.revoked_at)).bind(3, g.revoked_by).bind(4, g.revoke_reason);
    s.run();
  }

  std::optional<AuditRecord> last_audit() override {
    Stmt s(db_, fmt::format("SELECT {} FROM audit ORDER BY seq DESC LIMIT 1", kAuditColumns));
    if (!s.step()) return std::nullopt;
    return read_audit(s);
  }

  bool set_quarantine_status(std::string_view host, std::string_view queue_id,
                             std::string_view status, std::string_view actor,
                             std::string_view justification, policy::Time at) override {
    return sqlite::update_quarantine_status(db_, host, queue_id, status, actor, justification, at);
  }

  void insert_audit(const AuditRecord& r) override {
    Stmt s(db_,
           "INSERT INTO audit(seq, at, actor, os_user, action, subject, details, prev_hash, hash) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    s.bind(1, r.seq).bind(2, r.at).bind(3, r.actor).bind(4, r.os_user).bind(5, r.action);
    s.bind(6, r.subject).bind(7, r.details).bind(8, r.prev_hash).bind(9, r.hash).run();
  }

 private:
  void load_approvals(Identity& i) {
    Stmt s(db_,
           "SELECT role, actor, at, comment FROM approvals WHERE identity_id = ?1 AND round = ?2 "
           "ORDER BY at, role");
    s.bind(1, i.id).bind(2, std::int64_t{i.round});
    while (s.step()) {
      auto role = policy::parse_approval_role(s.text(0));
      if (!role) throw StoreError("corrupt approval role '" + s.text(0) + "'");
      i.approvals.push_back({*role, s.text(1), from_secs(s.integer(2)), s.text(3)});
    }
  }

  sqlite::Db& db_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, bool create) : path_(path), db_(path, create) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) opened_ = {st.st_dev, st.st_ino};
  }

  int migrate() override {
    int version = schema_version();
    int total = static_cast<int>(sqlite_migrations().size());
    if (version > total)
      throw StoreError(
          fmt::format("store schema version {} is newer than this agentgate ({})", version, total));
    Transaction tx(db_, "BEGIN IMMEDIATE");
    if (version == 0)
      db_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    for (int v = version; v < total; ++v) db_.exec(sqlite_migrations()[static_cast<size_t>(v)]);
    db_.exec("DELETE FROM schema_version");
    Stmt s(db_, "INSERT INTO schema_version(version) VALUES (?1)");
    s.bind(1, std::int64_t{total}).run();
    tx.commit();
    return total - version;
  }

  int schema_version() override {
    Stmt exists(db_,
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
    if (!exists.step()) return 0;
    Stmt s(db_, "SELECT version FROM schema_version");
    return s.step() ? static_cast<int>(s.integer(0)) : 0;
  }

  void defer_housekeeping() override { db_.exec("PRAGMA wal_autocheckpoint=0"); }
  // Expired session state is purged here, as on PostgreSQL, never on the message path: at most
  // once a minute however often the daemon's poll calls it, and on at the next call while a
  // backlog remains. Then a WAL checkpoint, whether or not the purge succeeded.
  void housekeeping(const BatchGate& gate) override {
    require_schema();
    auto now = std::chrono::steady_clock::now();
    std::exception_ptr failed;
    if (!last_purge_ || now - *last_purge_ >= kPurgeEvery) {
      const std::int64_t wall = secs(common::now_seconds());
      int budget = kPurgeBatches;
      try {
        // Replay rows live an hour past their proof's expiry (an identical retry is still
        // recognised); ledger rows go once find_received no longer answers for them.
        bool done = purge(
                        "DELETE FROM proof_replay WHERE jti IN "
                        "(SELECT jti FROM proof_replay WHERE expires_at < ?1 LIMIT ?2)",
                        wall - 3600, gate, budget) &&
                    purge(
                        "DELETE FROM ledger WHERE rowid IN "
                        "(SELECT rowid FROM ledger WHERE expires_at <= ?1 LIMIT ?2)",
                        wall, gate, budget);
        if (done) last_purge_ = now;
      } catch (...) {
        failed = std::current_exception();
        last_purge_ = now;  // a minute before the next attempt
      }
    }
    db_.exec("PRAGMA wal_checkpoint(PASSIVE)");
    if (failed) std::rethrow_exception(failed);
  }

  std::uint64_t generation() override {
    require_same_file();
    require_schema();
    return read_generation();
  }

  void write(const std::function<void(StoreTx&)>& fn) override {
    require_schema();
    Transaction transaction(db_, "BEGIN IMMEDIATE");
    SqliteTx tx(db_);
    fn(tx);
    db_.exec(
        "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
        "WHERE key = 'generation'");
    transaction.commit();
  }

  void read(const std::function<void(StoreTx&)>& fn) override {
    require_schema();
    Transaction transaction(db_, "BEGIN");
    SqliteTx tx(db_);
    fn(tx);
    transaction.commit();
  }

  RegistryData load_registry() override {
    require_schema();
    RegistryData data;
    {
      Transaction transaction(db_, "BEGIN");
      data.generation = read_generation();
      Stmt s(db_, fmt::format("SELECT {} FROM identities", kIdentityColumns));
      while (s.step()) data.identities.push_back(read_identity(s));
      Stmt gs(db_, fmt::format("SELECT {} FROM grants WHERE expires_at > ?1", kGrantColumns));
      gs.bind(1, secs(common::now_seconds()) - 86400);
      while (gs.step()) data.grants.push_back(read_grant(gs));
      transaction.commit();
    }
    return data;
  }

  std::vector<Identity> list_identities(const IdentityFilter& f) override {
    require_schema();
    std::string sql = fmt::format("SELECT {} FROM identities WHERE 1 = 1", kIdentityColumns);
    if (f.stored_status) sql += " AND status = ?1";
    if (f.expires_before) sql += " AND expires_at < ?2";
    sql += " ORDER BY id";
    Stmt s(db_, sql);
    if (f.stored_status) s.bind(1, policy::to_string(*f.stored_status));
    if (f.expires_before) s.bind(2, secs(*f.expires_before));
    std::vector<Identity> out;
    while (s.step()) out.push_back(read_identity(s));
    return out;
  }

  std::vector<policy::Grant> list_grants(std::string_view identity_id) override {
    require_schema();
    Stmt s(db_, fmt::format("SELECT {} FROM grants WHERE ?1 = '' OR identity_id = ?1 "
                            "ORDER BY issued_at, id",
                            kGrantColumns));
    s.bind(1, identity_id);
    std::vector<policy::Grant> out;
    while (s.step()) out.push_back(read_grant(s));
    return out;
  }

  ProofSpend spend_proof(std::string_view jti, std::string_view grant_id, std::string_view digest,
                         policy::Time expires_at, std::int64_t recipients) override {
    require_schema();
    return *spend(std::nullopt, jti, grant_id, digest, expires_at, recipients);
  }

  // The generation is read inside the spend's write transaction: no write can land between.
  std::optional<ProofSpend> spend_proof_at(std::uint64_t generation, std::string_view jti,
                                           std::string_view grant_id, std::string_view digest,
                                           policy::Time expires_at,
                                           std::int64_t recipients) override {
    require_same_file();
    require_schema();
    return spend(generation, jti, grant_id, digest, expires_at, recipients);
  }

  void record_received(std::string_view inbox, std::string_view message_id,
                       const std::vector<std::string>& participants,
                       policy::Time expires_at) override {
    require_schema();
    Stmt s(db_,
           "INSERT INTO ledger (inbox, message_id, participants, expires_at) VALUES "
           "(?1, ?2, ?3, ?4) ON CONFLICT (inbox, message_id) DO UPDATE SET "
           "participants = excluded.participants, expires_at = excluded.expires_at");
    s.bind(1, inbox).bind(2, message_id).bind(3, join_lines(participants));
    s.bind(4, secs(expires_at)).run();
  }

  void record_quarantine(const QuarantineRecord& record) override {
    require_schema();
    sqlite::insert_quarantine(db_, record);
  }

  std::vector<QuarantineRecord> list_quarantine(const QuarantineFilter& filter) override {
    require_schema();
    return sqlite::select_quarantine(db_, filter);
  }

  std::optional<std::string> spent_digest(std::string_view jti) override {
    require_schema();
    Stmt s(db_, "SELECT digest FROM proof_replay WHERE jti = ?1");
    s.bind(1, jti);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  std::optional<std::vector<std::string>> find_received(std::string_view inbox,
                                                        std::string_view message_id) override {
    require_schema();
    Stmt s(db_,
           "SELECT participants FROM ledger WHERE inbox = ?1 AND message_id = ?2 AND "
           "expires_at > ?3");
    s.bind(1, inbox).bind(2, message_id).bind(3, secs(common::now_seconds()));
    if (!s.step()) return std::nullopt;
    return split_lines(s.text(0));
  }

  std::vector<AuditRecord> audit_records(std::int64_t from_seq) override {
    require_schema();
    Stmt s(db_, fmt::format("SELECT {} FROM audit WHERE seq >= ?1 ORDER BY seq", kAuditColumns));
    s.bind(1, from_seq);
    std::vector<AuditRecord> out;
    while (s.step()) out.push_back(read_audit(s));
    return out;
  }

 private:
  std::uint64_t read_generation() {
    Stmt s(db_, "SELECT value FROM meta WHERE key = 'generation'");
    if (!s.step()) throw StoreError("store has no generation counter");
    return std::stoull(s.text(0));
  }

  // One write transaction; nullopt (rolled back, nothing spent) when `at` is not the generation.
  std::optional<ProofSpend> spend(std::optional<std::uint64_t> at, std::string_view jti,
                                  std::string_view grant_id, std::string_view digest,
                                  policy::Time expires_at, std::int64_t recipients) {
    Transaction transaction(db_, "BEGIN IMMEDIATE");
    if (at && read_generation() != *at) return std::nullopt;  // rolled back
    auto outcome = spend_in_tx(jti, grant_id, digest, expires_at, recipients);
    transaction.commit();
    return outcome;
  }

  ProofSpend spend_in_tx(std::string_view jti, std::string_view grant_id, std::string_view digest,
                         policy::Time expires_at, std::int64_t recipients) {
    Stmt seen(db_, "SELECT digest FROM proof_replay WHERE jti = ?1");
    seen.bind(1, jti);
    if (seen.step())
      return seen.text(0) == digest ? ProofSpend::identical_retry : ProofSpend::replayed;
    Stmt charge(db_,
                "UPDATE grants SET messages_used = messages_used + 1, "
                "recipients_used = recipients_used + ?2 WHERE id = ?1 "
                "AND (max_messages IS NULL OR messages_used < max_messages) "
                "AND (max_recipients IS NULL OR recipients_used + ?2 <= max_recipients)");
    charge.bind(1, grant_id).bind(2, recipients).run();
    if (sqlite3_changes(db_.handle()) != 1) {
      Stmt exists(db_, "SELECT 1 FROM grants WHERE id = ?1");
      exists.bind(1, grant_id);
      return exists.step() ? ProofSpend::exhausted : ProofSpend::unknown_grant;
    }
    Stmt remember(db_,
                  "INSERT INTO proof_replay (jti, grant_id, digest, expires_at) "
                  "VALUES (?1, ?2, ?3, ?4)");
    remember.bind(1, jti).bind(2, grant_id).bind(3, digest).bind(4, secs(expires_at)).run();
    return ProofSpend::spent;
  }

  // Deletes in batches, each its own write transaction under `gate`, so the write lock is never
  // held long and writers waiting on the gate get in between batches. True when nothing is left;
  // false when `budget` (batches, shared by the calls of one housekeeping) ran out first.
  bool purge(const char* sql, std::int64_t before, const BatchGate& gate, int& budget) {
    while (budget > 0) {
      --budget;
      std::unique_lock<std::mutex> turn;
      if (gate) turn = gate();
      Transaction transaction(db_, "BEGIN IMMEDIATE");
      Stmt s(db_, sql);
      s.bind(1, before).bind(2, std::int64_t{kPurgeBatch}).run();
      int deleted = sqlite3_changes(db_.handle());
      transaction.commit();
      if (deleted < kPurgeBatch) return true;
    }
    return false;
  }

  void require_schema() {
    if (checked_) return;
    if (schema_version() == 0)
      throw StoreError("store is not initialised; run 'agentgatectl init' first");
    checked_ = true;
  }

  // A store file removed or replaced (a restore by rename, a corrupted copy moved in) is not
  // seen through an open connection: it keeps reading the old inode. Callers of generation()
  // (every poll and end of message) reconnect after this error.
  void require_same_file() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0)
      throw StoreError(fmt::format("store {} has disappeared", path_));
    if (std::pair{st.st_dev, st.st_ino} != opened_)
      throw StoreError(fmt::format("store {} was replaced; reconnecting", path_));
  }

  std::string path_;
  std::pair<dev_t, ino_t> opened_{};
  sqlite::Db db_;
  bool checked_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_purge_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, bool create) {
  if (!create && !std::filesystem::exists(path))
    throw StoreError(fmt::format("store {} does not exist; run 'agentgatectl init' first", path));
  return std::make_unique<SqliteStore>(path, create);
}

}  // namespace agentgate::registry
