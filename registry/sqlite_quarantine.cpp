#include "registry/sqlite_quarantine.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "registry/codec.hpp"

namespace agentgate::registry::sqlite {
namespace {

constexpr const char* kColumns =
    "mta_host, queue_id, at, identity, grant_id, task, mail_from, recipients, header_from, "
    "subject, message_id, reasons, event_id, context, status, acted_by, justification, acted_at";

QuarantineRecord read(const Stmt& s) {
  QuarantineRecord r;
  r.mta_host = s.text(0);
  r.queue_id = s.text(1);
  r.at = from_secs(s.integer(2));
  r.identity = s.text(3);
  r.grant = s.text(4);
  r.task = s.text(5);
  r.mail_from = s.text(6);
  r.recipients = split_lines(s.text(7));
  r.header_from = s.text(8);
  r.subject = s.text(9);
  r.message_id = s.text(10);
  r.reasons = split_lines(s.text(11));
  r.event_id = s.text(12);
  r.context = s.text(13);
  r.status = s.text(14);
  r.acted_by = s.text(15);
  r.justification = s.text(16);
  r.acted_at = from_secs(s.integer(17));
  return r;
}

}  // namespace

void insert_quarantine(Db& db, const QuarantineRecord& r) {
  Stmt s(db,
         fmt::format("INSERT OR REPLACE INTO quarantine ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "?8, ?9, ?10, ?11, ?12, ?13, ?14, 'held', '', '', 0)",
                     kColumns));
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
                         kColumns));
  s.bind(1, f.since ? secs(*f.since) : std::int64_t{0});
  s.bind(2, f.until ? secs(*f.until) : INT64_MAX);
  s.bind(3, f.identity).bind(4, f.status).bind(5, f.host).bind(6, f.queue_id);
  std::vector<QuarantineRecord> out;
  while (s.step()) {
    auto r = read(s);
    auto has = [](const std::vector<std::string>& v, const std::string& x) {
      return x.empty() || std::find(v.begin(), v.end(), x) != v.end();
    };
    if (has(r.reasons, f.reason) && has(r.recipients, f.recipient)) out.push_back(std::move(r));
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
