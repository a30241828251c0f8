// The PostgreSQL backend of Store: the shared registry for several MTA hosts. Same schema
// versions, statements and outcomes as the SQLite backend. Writers serialise on the generation
// row (SELECT ... FOR UPDATE) so the audit chain never forks, and each committed write notifies
// kPgChannel with its new generation, atomically with the change (NOTIFY is delivered on
// commit only). Reads see one snapshot (REPEATABLE READ READ ONLY). Per-message calls are one
// prepared statement each, in autocommit; spend_proof is one call of agentgate_spend_proof
// (pg_schema.cpp, migration 2). Any libpq failure is a StoreError and is never retried here:
// the caller drops the Store and opens a new one.
#include "registry/pg_store.hpp"

#include <chrono>

#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "registry/codec.hpp"
#include "registry/pg_db.hpp"
#include "registry/pg_quarantine.hpp"
#include "registry/pg_schema.hpp"
#include "registry/pg_tx.hpp"
#include "registry/row_codec.hpp"

namespace agentgate::registry {
namespace {

using pg::Conn;
using pg::PgTx;
using pg::Result;
using policy::Identity;

constexpr std::int64_t kMigrationLock = 0x61676d69;  // pg_advisory_xact_lock key, "agmi"
constexpr auto kHousekeepingEvery = std::chrono::minutes(1);

template <typename T, typename Decode>
std::vector<T> all_rows(const Result& r, Decode decode) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int k = 0; k < r.rows(); ++k) out.push_back(decode(r.row(k)));
  return out;
}

std::uint64_t read_generation(const Result& r) {
  if (r.empty()) throw StoreError("store has no generation counter");
  return static_cast<std::uint64_t>(r.row(0).integer(0));
}

class PgStore final : public Store {
 public:
  explicit PgStore(const std::string& url) : conn_(url) {
    // The write and spend paths rely on READ COMMITTED (a fresh snapshot per statement behind
    // a row lock), whatever default_transaction_isolation the server has.
    conn_.exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED");
  }

  int migrate() override {
    const int total = static_cast<int>(pg_migrations().size());
    conn_.exec("BEGIN");
    try {
      // Two `agentgatectl init` at once: the second waits here, then finds nothing to do.
      conn_.query("SELECT pg_advisory_xact_lock($1)", {kMigrationLock});
      const int version = schema_version();
      if (version > total)
        throw StoreError(fmt::format("store schema version {} is newer than this agentgate ({})",
                                     version, total));
      conn_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      for (int v = version; v < total; ++v) conn_.exec(pg_migrations()[static_cast<size_t>(v)]);
      conn_.exec("DELETE FROM schema_version");
      conn_.query("INSERT INTO schema_version(version) VALUES ($1)", {std::int64_t{total}});
      conn_.exec("COMMIT");
      return total - version;
    } catch (...) {
      conn_.rollback();
      throw;
    }
  }

  int schema_version() override {
    if (conn_.query("SELECT to_regclass('schema_version') IS NOT NULL").row(0).text(0) != "t")
      return 0;
    auto r = conn_.query("SELECT version FROM schema_version");
    return r.empty() ? 0 : static_cast<int>(r.row(0).integer(0));
  }

  // Nothing is purged on the per-message path: housekeeping() does it, at most once a minute
  // however often the daemon's poll calls it.
  void defer_housekeeping() override {}
  void limit_statements(std::chrono::milliseconds limit) override {
    conn_.query("SELECT set_config('statement_timeout', $1, false)",
                {std::to_string(limit.count())});
  }
  // No batches (and no gate): PostgreSQL's row locks never make a spend wait for a purge of
  // other, expired rows.
  void housekeeping(const BatchGate&) override {
    require_schema();
    auto now = std::chrono::steady_clock::now();
    if (last_housekeeping_ && now - *last_housekeeping_ < kHousekeepingEvery) return;
    const std::int64_t wall = secs(common::now_seconds());
    last_housekeeping_ = now;  // a failed purge, too, waits a minute before the next attempt
    // Replay rows live an hour past their expiry, as on SQLite; ledger rows that
    // find_received no longer answers for go at once.
    conn_.query("DELETE FROM proof_replay WHERE expires_at < $1", {wall - 3600});
    conn_.query("DELETE FROM ledger WHERE expires_at <= $1", {wall});
  }

  std::uint64_t generation() override {
    require_schema();
    return read_generation(conn_.query("SELECT value FROM meta WHERE key = 'generation'"));
  }

  void write(const std::function<void(StoreTx&)>& fn) override {
    require_schema();
    conn_.exec("BEGIN");
    try {
      read_generation(conn_.query("SELECT value FROM meta WHERE key = 'generation' FOR UPDATE"));
      PgTx tx(conn_);
      fn(tx);
      read_generation(conn_.query(fmt::format(
          "WITH g AS (UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation' "
          "RETURNING value) SELECT value, pg_notify('{}', value) FROM g",
          kPgChannel)));
      conn_.exec("COMMIT");
    } catch (...) {
      conn_.rollback();
      throw;
    }
  }

  void read(const std::function<void(StoreTx&)>& fn) override {
    require_schema();
    in_snapshot([&] {
      PgTx tx(conn_);
      fn(tx);
    });
  }

  RegistryData load_registry() override {
    require_schema();
    RegistryData data;
    in_snapshot([&] {
      data.generation =
          read_generation(conn_.query("SELECT value FROM meta WHERE key = 'generation'"));
      data.identities = all_rows<Identity>(
          conn_.query(fmt::format("SELECT {} FROM identities", kIdentityColumns)),
          [](const pg::Row& row) { return read_identity(row); });
      data.grants = all_rows<policy::Grant>(
          conn_.query(fmt::format("SELECT {} FROM grants WHERE expires_at > $1", kGrantColumns),
                      {secs(common::now_seconds()) - 86400}),
          [](const pg::Row& row) { return read_grant(row); });
    });
    return data;
  }

  std::vector<Identity> list_identities(const IdentityFilter& f) override {
    require_schema();
    std::string sql = fmt::format("SELECT {} FROM identities WHERE 1 = 1", kIdentityColumns);
    if (f.stored_status) sql += " AND status = $1";
    if (f.expires_before) sql += f.stored_status ? " AND expires_at < $2" : " AND expires_at < $1";
    sql += " ORDER BY id COLLATE \"C\"";  // SQLite's byte order, whatever the locale
    auto decode = [](const pg::Row& row) { return read_identity(row); };
    std::string status(f.stored_status ? policy::to_string(*f.stored_status) : "");
    std::int64_t before = f.expires_before ? secs(*f.expires_before) : 0;
    if (f.stored_status && f.expires_before)
      return all_rows<Identity>(conn_.query(sql, {status, before}), decode);
    if (f.stored_status) return all_rows<Identity>(conn_.query(sql, {status}), decode);
    if (f.expires_before) return all_rows<Identity>(conn_.query(sql, {before}), decode);
    return all_rows<Identity>(conn_.query(sql), decode);
  }

  std::vector<policy::Grant> list_grants(std::string_view identity_id) override {
    require_schema();
    return all_rows<policy::Grant>(
        conn_.query(fmt::format("SELECT {} FROM grants WHERE $1 = '' OR identity_id = $1 "
                                "ORDER BY issued_at, id COLLATE \"C\"",
                                kGrantColumns),
                    {identity_id}),
        [](const pg::Row& row) { return read_grant(row); });
  }

  std::vector<AuditRecord> audit_records(std::int64_t from_seq) override {
    require_schema();
    return all_rows<AuditRecord>(
        conn_.query(fmt::format("SELECT {} FROM audit WHERE seq >= $1 ORDER BY seq", kAuditColumns),
                    {from_seq}),
        [](const pg::Row& row) { return read_audit(row); });
  }

  ProofSpend spend_proof(std::string_view jti, std::string_view grant_id, std::string_view digest,
                         policy::Time expires_at, std::int64_t recipients) override {
    require_schema();
    auto r = conn_.query(
        "SELECT agentgate_spend_proof($1::text, $2::text, $3::text, $4::bigint, $5::bigint)",
        {jti, grant_id, digest, secs(expires_at), recipients});
    const std::string outcome = r.empty() ? "" : r.row(0).text(0);
    if (outcome == "spent") return ProofSpend::spent;
    if (outcome == "identical_retry") return ProofSpend::identical_retry;
    if (outcome == "replayed") return ProofSpend::replayed;
    if (outcome == "exhausted") return ProofSpend::exhausted;
    if (outcome == "unknown_grant") return ProofSpend::unknown_grant;
    throw StoreError(fmt::format("store {}: spend_proof answered '{}'", conn_.where(), outcome));
  }

  std::optional<std::string> spent_digest(std::string_view jti) override {
    require_schema();
    auto r = conn_.query("SELECT digest FROM proof_replay WHERE jti = $1", {jti});
    if (r.empty()) return std::nullopt;
    return r.row(0).text(0);
  }

  void record_received(std::string_view inbox, std::string_view message_id,
                       const std::vector<std::string>& participants,
                       policy::Time expires_at) override {
    require_schema();
    conn_.query(
        "INSERT INTO ledger (inbox, message_id, participants, expires_at) VALUES "
        "($1, $2, $3, $4) ON CONFLICT (inbox, message_id) DO UPDATE SET "
        "participants = EXCLUDED.participants, expires_at = EXCLUDED.expires_at",
        {inbox, message_id, join_lines(participants), secs(expires_at)});
  }

  std::optional<std::vector<std::string>> find_received(std::string_view inbox,
                                                        std::string_view message_id) override {
    require_schema();
    auto r = conn_.query(
        "SELECT participants FROM ledger WHERE inbox = $1 AND message_id = $2 AND "
        "expires_at > $3",
        {inbox, message_id, secs(common::now_seconds())});
    if (r.empty()) return std::nullopt;
    return split_lines(r.row(0).text(0));
  }

  void record_quarantine(const QuarantineRecord& record) override {
    require_schema();
    pg::insert_quarantine(conn_, record);
  }

  std::vector<QuarantineRecord> list_quarantine(const QuarantineFilter& filter) override {
    require_schema();
    return pg::select_quarantine(conn_, filter);
  }

 private:
  template <typename F>
  void in_snapshot(F&& body) {
    conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      body();
      conn_.exec("COMMIT");
    } catch (...) {
      conn_.rollback();
      throw;
    }
  }

  void require_schema() {
    if (checked_) return;
    if (schema_version() == 0)
      throw StoreError("store is not initialised; run 'agentgatectl init' first");
    checked_ = true;
  }

  Conn conn_;
  bool checked_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_housekeeping_;
};

}  // namespace

// create=false opens an uninitialised database too: like an empty SQLite file, every data call
// then fails with "run 'agentgatectl init'". A database that does not exist is a StoreError here.
std::unique_ptr<Store> open_pg_store(const std::string& url, bool /*create*/) {
  return std::make_unique<PgStore>(url);
}

}  // namespace agentgate::registry
