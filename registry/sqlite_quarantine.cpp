#include "registry/sqlite_quarantine.hpp"

#include <fmt/format.h>

#include "registry/codec.hpp"
#include "registry/row_codec.hpp"

namespace agentgate::registry::sqlite {

void insert_quarantine(Db& db, const QuarantineRecord& r) {
  Stmt s(db,
         fmt::format("INSERT OR REPLACE INTO quarantine ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "?8, ?9, ?10, ?11, ?12, ?13, ?14, 'held', '', '', 0)",
                     kQuarantineColumns));
  s.bind(1, r.mta_host).bind(2, r.queue_id).bind(3, secs(r.at)).bind(4, r.identity);
  s.bind(5, r.grant).bind(6, r.task).bind(7, r.mail_from).bind(8, join_lines(r.recipients));
  s.bind(9, r.header_from).bind(10, r.subject).bind(11, r.message_id);
  s.bind(12, join_lines(r.reasons)).bind(13, r.event_id).bind(14, r.context);
  s.run();
}

std::vector<QuarantineRecord> select_quarantine(Db& db, const QuarantineFilter& f) {
  // Coarse filters in SQL (indexed), list-valued ones (reason, recipient) on the rows.
  Stmt s(db, fmt::format("SELECT {} FROM quarantine WHERE at >= ?1 AND at <= ?2 AND "
                         "(?3 = '' OR identity = ?3) AND (?4 = '' OR status = ?4) AND "
                         "(?5 = '' OR mta_host = ?5) AND (?6 = '' OR queue_id = ?6) "
                         "ORDER BY at DESC, queue_id",
                         kQuarantineColumns));
  s.bind(1, f.since ? secs(*f.since) : std::int64_t{0});
  s.bind(2, f.until ? secs(*f.until) : INT64_MAX);
  s.bind(3, f.identity).bind(4, f.status).bind(5, f.host).bind(6, f.queue_id);
  std::vector<QuarantineRecord> out;
  while (s.step()) {
    auto r = read_quarantine(s);
    if (quarantine_lists_match(r, f)) out.push_back(std::move(r));
  }
  return out;
}

bool update_quarantine_status(Db& db, std::string_view host, std::string_view queue_id,
                              std::string_view status, std::string_view actor,
                              std::string_view justification, policy::Time at) {
  Stmt s(db,
         "UPDATE quarantine SET status = ?3, acted_by = ?4, justification = ?5, acted_at = ?6 "
         "WHERE mta_host = ?1 AND queue_id = ?2");
  s.bind(1, host).bind(2, queue_id).bind(3, status).bind(4, actor).bind(5, justification);
  s.bind(6, secs(at)).run();
  return sqlite3_changes(db.handle()) == 1;
}

}  // namespace agentgate::registry::sqlite
