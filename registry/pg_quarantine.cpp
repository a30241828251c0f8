// PostgreSQL quarantine index statements.
#include "registry/pg_quarantine.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "registry/codec.hpp"
#include "registry/row_codec.hpp"

namespace agentgate::registry::pg {

void insert_quarantine(Conn& conn, const QuarantineRecord& r) {
  // A second decision for the same host and queue id replaces the row, as SQLite's INSERT OR
  // REPLACE does: every column, the analyst's fields back to "held".
  static const std::string sql = fmt::format(
      "INSERT INTO quarantine ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
      "$14, 'held', '', '', 0) ON CONFLICT (mta_host, queue_id) DO UPDATE SET at = EXCLUDED.at, "
      "identity = EXCLUDED.identity, grant_id = EXCLUDED.grant_id, task = EXCLUDED.task, "
      "mail_from = EXCLUDED.mail_from, recipients = EXCLUDED.recipients, "
      "header_from = EXCLUDED.header_from, subject = EXCLUDED.subject, "
      "message_id = EXCLUDED.message_id, reasons = EXCLUDED.reasons, "
      "event_id = EXCLUDED.event_id, context = EXCLUDED.context, status = 'held', "
      "acted_by = '', justification = '', acted_at = 0",
      kQuarantineColumns);
  conn.query(sql, {r.mta_host, r.queue_id, secs(r.at), r.identity, r.grant, r.task, r.mail_from,
                   join_lines(r.recipients), r.header_from, r.subject, r.message_id,
                   join_lines(r.reasons), r.event_id, r.context});
}

std::vector<QuarantineRecord> select_quarantine(Conn& conn, const QuarantineFilter& f) {
  // Coarse filters in SQL (indexed), list-valued ones (reason, recipient) on the rows.
  // COLLATE "C": the byte order SQLite sorts text in, whatever the database's locale.
  auto r =
      conn.query(fmt::format("SELECT {} FROM quarantine WHERE at >= $1 AND at <= $2 AND "
                             "($3 = '' OR identity = $3) AND ($4 = '' OR status = $4) AND "
                             "($5 = '' OR mta_host = $5) AND ($6 = '' OR queue_id = $6) "
                             "ORDER BY at DESC, queue_id COLLATE \"C\"",
                             kQuarantineColumns),
                 {f.since ? secs(*f.since) : std::int64_t{0}, f.until ? secs(*f.until) : INT64_MAX,
                  f.identity, f.status, f.host, f.queue_id});
  std::vector<QuarantineRecord> out;
  for (int k = 0; k < r.rows(); ++k) {
    auto record = read_quarantine(r.row(k));
    if (quarantine_lists_match(record, f)) out.push_back(std::move(record));
  }
  return out;
}

bool update_quarantine_status(Conn& conn, std::string_view host, std::string_view queue_id,
                              std::string_view status, std::string_view actor,
                              std::string_view justification, policy::Time at) {
  auto r = conn.query(
      "UPDATE quarantine SET status = $3, acted_by = $4, justification = $5, acted_at = $6 "
      "WHERE mta_host = $1 AND queue_id = $2",
      {host, queue_id, status, actor, justification, secs(at)});
  return r.affected() == 1;
}

}  // namespace agentgate::registry::pg
