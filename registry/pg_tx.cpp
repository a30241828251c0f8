// The registry's transactional statements on PostgreSQL, the same ones as SqliteTx in
// sqlite_store.cpp: INSERT OR REPLACE becomes INSERT ... ON CONFLICT DO UPDATE, INSERT OR IGNORE
// becomes ON CONFLICT DO NOTHING. Rows decode through registry/row_codec.hpp.
#include "registry/pg_tx.hpp"

#include <fmt/format.h>

#include "policy/digest.hpp"
#include "registry/codec.hpp"
#include "registry/pg_quarantine.hpp"
#include "registry/row_codec.hpp"

namespace agentgate::registry::pg {
namespace {

using policy::Identity;

// "$1, $2, ..., $n" and "col = EXCLUDED.col, ..." for every column but the first (the key).
std::string placeholders(int n) {
  std::string out;
  for (int k = 1; k <= n; ++k) out += fmt::format("{}${}", k > 1 ? ", " : "", k);
  return out;
}

const std::string& upsert_identity_sql() {
  static const std::string sql = [] {
    std::string_view cols = kIdentityColumns;
    std::string set;
    int n = 1;
    for (auto rest = cols.substr(cols.find(',') + 2); !rest.empty(); ++n) {
      auto comma = rest.find(',');
      auto col = rest.substr(0, comma);
      set += fmt::format("{}{} = EXCLUDED.{}", set.empty() ? "" : ", ", col, col);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
    }
    return fmt::format("INSERT INTO identities ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
                       kIdentityColumns, placeholders(n), set);
  }();
  return sql;
}

std::optional<Identity> first_identity(const Result& r) {
  if (r.empty()) return std::nullopt;
  return read_identity(r.row(0));
}

}  // namespace

std::optional<Identity> PgTx::find_identity(std::string_view id) {
  auto r =
      conn_.query(fmt::format("SELECT {} FROM identities WHERE id = $1", kIdentityColumns), {id});
  auto identity = first_identity(r);
  if (identity) load_approvals(*identity);
  return identity;
}

std::optional<Identity> PgTx::find_live_by_inbox(std::string_view inbox) {
  return first_identity(conn_.query(fmt::format("SELECT {} FROM identities WHERE inbox = $1 AND "
                                                "status NOT IN ('revoked', 'rejected') LIMIT 1",
                                                kIdentityColumns),
                                    {inbox}));
}

std::optional<Identity> PgTx::find_by_inbox(std::string_view inbox) {
  return first_identity(conn_.query(fmt::format("SELECT {} FROM identities WHERE inbox = $1 "
                                                "ORDER BY status IN ('revoked', 'rejected'), "
                                                "updated_at DESC LIMIT 1",
                                                kIdentityColumns),
                                    {inbox}));
}

bool PgTx::is_agent_name(std::string_view name) {
  return !conn_
              .query(
                  "SELECT 1 FROM identities WHERE id = $1 OR lower(inbox) = lower($1) UNION ALL "
                  "SELECT 1 FROM principals WHERE principal IN ($1, 'sasl:' || $1, 'cert:' || $1) "
                  "LIMIT 1",
                  {name})
              .empty();
}

std::optional<std::string> PgTx::live_identity_for_principal(std::string_view principal) {
  auto r = conn_.query(
      "SELECT i.id FROM principals p JOIN identities i ON i.id = p.identity_id "
      "WHERE p.principal = $1 AND i.status NOT IN ('revoked', 'rejected') LIMIT 1",
      {principal});
  if (r.empty()) return std::nullopt;
  return r.row(0).text(0);
}

void PgTx::put_identity(const Identity& i) {
  std::optional<std::int64_t> renewal;
  if (i.renewal_expires_at) renewal = secs(*i.renewal_expires_at);
  conn_.query(upsert_identity_sql(), {i.id,
                                      i.inbox,
                                      policy::to_string(i.status),
                                      i.purpose,
                                      i.business_owner,
                                      i.system_owner,
                                      i.requester,
                                      i.ig_reviewer,
                                      std::int64_t{i.actions.bits()},
                                      join_lines(i.principals),
                                      encode_targets(i.targets),
                                      join_lines(i.accept_from),
                                      join_lines(i.grant_issuers),
                                      secs(i.expires_at),
                                      i.revocation_trigger,
                                      i.credential_type,
                                      secs(i.created_at),
                                      secs(i.updated_at),
                                      std::int64_t{i.round},
                                      renewal,
                                      i.status_reason});
  conn_.query("DELETE FROM principals WHERE identity_id = $1", {i.id});
  for (const auto& p : i.principals)
    conn_.query(
        "INSERT INTO principals(principal, identity_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        {p, i.id});
  // The round's approvals are exactly i.approvals: a rejected renewal clears them.
  conn_.query("DELETE FROM approvals WHERE identity_id = $1 AND round = $2",
              {i.id, std::int64_t{i.round}});
  for (const auto& a : i.approvals)
    conn_.query(
        "INSERT INTO approvals(identity_id, round, role, actor, at, comment) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        {i.id, std::int64_t{i.round}, policy::to_string(a.role), a.actor, secs(a.at), a.comment});
}

std::optional<policy::Grant> PgTx::find_grant(std::string_view id) {
  auto r = conn_.query(fmt::format("SELECT {} FROM grants WHERE id = $1", kGrantColumns), {id});
  if (r.empty()) return std::nullopt;
  return read_grant(r.row(0));
}

void PgTx::insert_grant(const policy::Grant& g) {
  conn_.query(
      "INSERT INTO grants (id, identity_id, task_id, purpose, actions, targets, public_key, "
      "issued_by, issued_at, expires_at, max_messages, max_recipients) VALUES "
      "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
      {g.id, g.identity_id, g.task_id, g.purpose, std::int64_t{g.actions.bits()},
       encode_targets(g.targets), policy::base64url_encode(g.public_key), g.issued_by,
       secs(g.issued_at), secs(g.expires_at), g.max_messages, g.max_recipients});
}

void PgTx::mark_grant_revoked(const policy::Grant& g) {
  conn_.query(
      "UPDATE grants SET revoked = 1, revoked_at = $2, revoked_by = $3, revoke_reason = $4 "
      "WHERE id = $1",
      {g.id, secs(g.revoked_at), g.revoked_by, g.revoke_reason});
}

std::optional<AuditRecord> PgTx::last_audit() {
  auto r =
      conn_.query(fmt::format("SELECT {} FROM audit ORDER BY seq DESC LIMIT 1", kAuditColumns));
  if (r.empty()) return std::nullopt;
  return read_audit(r.row(0));
}

void PgTx::insert_audit(const AuditRecord& r) {
  conn_.query(
      fmt::format("INSERT INTO audit ({}) VALUES ({})", kAuditColumns, placeholders(9)),
      {r.seq, r.at, r.actor, r.os_user, r.action, r.subject, r.details, r.prev_hash, r.hash});
}

bool PgTx::set_quarantine_status(std::string_view host, std::string_view queue_id,
                                 std::string_view status, std::string_view actor,
                                 std::string_view justification, policy::Time at) {
  return update_quarantine_status(conn_, host, queue_id, status, actor, justification, at);
}

void PgTx::load_approvals(Identity& i) {
  auto r = conn_.query(
      "SELECT role, actor, at, comment FROM approvals WHERE identity_id = $1 AND round = $2 "
      "ORDER BY at, role COLLATE \"C\"",
      {i.id, std::int64_t{i.round}});
  for (int k = 0; k < r.rows(); ++k) {
    auto row = r.row(k);
    auto role = policy::parse_approval_role(row.text(0));
    if (!role) throw StoreError("corrupt approval role '" + row.text(0) + "'");
    i.approvals.push_back({*role, row.text(1), from_secs(row.integer(2)), row.text(3)});
  }
}

}  // namespace agentgate::registry::pg
