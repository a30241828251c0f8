// libpq RAII wrapper.
#include "registry/pg_db.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace agentgate::registry::pg {
namespace {

constexpr std::size_t kMaxPrepared = 256;  // distinct SQL texts kept prepared per connection

// The first words of a statement, to say which one failed without printing its parameters.
std::string_view excerpt(std::string_view sql) {
  auto start = sql.find_first_not_of(" \n");
  if (start == std::string_view::npos) return {};
  sql.remove_prefix(start);
  return sql.substr(0, std::min<std::size_t>(sql.find('\n'), 48));
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

// The password libpq would use from this URL ("" when none or when it cannot be parsed).
std::string url_password(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  PQfreemem(err);
  std::string password;
  for (auto* o = opts; o && o->keyword; ++o)
    if (std::string_view(o->keyword) == "password" && o->val) password = o->val;
  PQconninfoFree(opts);
  return password;
}

// Removes the URL and its password from a libpq message (a URI syntax error quotes the URI).
std::string scrub(std::string message, const std::string& url, const std::string& password) {
  replace_all(message, url, redact_url(url));
  replace_all(message, password, "***");
  return one_line(message);
}

void ignore_notice(void*, const char*) {}

}  // namespace

std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (!space)
      out += c;
    else if (!out.empty() && out.back() != ' ')
      out += ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

namespace {

// The length of the well-formed UTF-8 sequence at the start of s (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  unsigned char b = byte(0);
  if (b >= 0x01 && b <= 0x7F) return 1;
  if (b >= 0xC2 && b <= 0xDF) return cont(1) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if ((b == 0xE0 && byte(1) < 0xA0) || (b == 0xED && byte(1) > 0x9F)) return 0;
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if ((b == 0xF0 && byte(1) < 0x90) || (b == 0xF4 && byte(1) > 0x8F)) return 0;
    return 4;
  }
  return 0;  // NUL, a stray continuation byte, 0xC0/0xC1, 0xF5..0xFF
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    auto n = utf8_sequence(text);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      n = 1;
    } else {
      out.append(text.substr(0, n));
    }
    text.remove_prefix(n);
  }
  return out;
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  auto scheme = out.find("://");
  auto start = scheme == std::string::npos ? 0 : scheme + 3;
  // The last '@' before the query ends the user info, even if an unencoded '/' or '@' is in the
  // password: better to hide too much than a secret.
  auto end = std::min(out.find('?', start), out.size());
  auto at = out.rfind('@', end);
  if (at != std::string::npos && at >= start) {
    auto colon = out.find(':', start);
    if (colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  auto query = out.find('?');
  for (auto key = query; key != std::string::npos; key = out.find('&', key + 1)) {
    if (out.compare(key + 1, 9, "password=") != 0) continue;
    auto value = key + 10;
    auto stop = out.find('&', value);
    out.replace(value, (stop == std::string::npos ? out.size() : stop) - value, "***");
  }
  return out;
}

std::string Row::text(int col) const {
  auto* res = result_.get();
  return std::string(PQgetvalue(res, row_, col), static_cast<size_t>(PQgetlength(res, row_, col)));
}

std::int64_t Row::integer(int col) const {
  auto* res = result_.get();
  const char* p = PQgetvalue(res, row_, col);
  const char* end = p + PQgetlength(res, row_, col);
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(p, end, value);
  if (ec != std::errc() || ptr != end)
    throw StoreError(fmt::format("store: column {} holds '{}', not an integer", PQfname(res, col),
                                 std::string_view(p, end)));
  return value;
}

bool Row::is_null(int col) const {
  return PQgetisnull(result_.get(), row_, col) != 0;
}

std::int64_t Result::affected() const {
  std::string_view n = PQcmdTuples(res_);
  std::int64_t value = 0;
  std::from_chars(n.data(), n.data() + n.size(), value);
  return value;
}

Conn::Conn(const std::string& url) : where_(redact_url(url)) {
  const std::string password = url_password(url);
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_error);
  if (!parsed) {
    std::string msg = parse_error ? parse_error : "out of memory";
    PQfreemem(parse_error);
    throw std::invalid_argument(
        fmt::format("store url '{}': {}", where_, scrub(msg, url, password)));
  }
  PQconninfoFree(parsed);
  // Defaults first: the expanded URL (dbname) overrides them. A server that vanishes without
  // closing the connection (a dead host, a dropped route) is noticed in ~10 s instead of TCP's
  // ~15 min of retransmissions, which would hold every end of message waiting. Every agentgate
  // connection writes (a proof's spend, the audit log), so a URL naming several hosts connects
  // to the primary only (target_session_attrs), never to a read-only standby.
  const char* keywords[] = {"connect_timeout",  "application_name",
                            "client_encoding",  "tcp_user_timeout",
                            "keepalives_idle",  "keepalives_interval",
                            "keepalives_count", "target_session_attrs",
                            "dbname",           nullptr};
  const char* values[] = {"5", "agentgate", "UTF8",       "10000",     "5",
                          "2", "3",         "read-write", url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (!conn_) throw StoreError(fmt::format("store {}: cannot connect: out of memory", where_));
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = scrub(PQerrorMessage(conn_), url, password);
    if (msg.find("does not exist") != std::string::npos)
      msg += " (create the database, then run 'agentgatectl init')";
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreError(fmt::format("store {}: cannot connect: {}", where_, msg));
  }
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
}

Conn::~Conn() {
  PQfinish(conn_);
}

Result Conn::query(std::string_view sql, Params params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  const int n = static_cast<int>(values.size());
  std::string text(sql);
  auto it = prepared_.find(text);
  if (it == prepared_.end() && prepared_.size() < kMaxPrepared) {
    std::string name = fmt::format("ag{}", prepared_.size() + 1);
    check(PQprepare(conn_, name.c_str(), text.c_str(), n, nullptr), excerpt(sql));
    it = prepared_.emplace(std::move(text), std::move(name)).first;
  }
  if (it == prepared_.end())
    return check(PQexecParams(conn_, text.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0),
                 excerpt(sql));
  return check(PQexecPrepared(conn_, it->second.c_str(), n, values.data(), nullptr, nullptr, 0),
               excerpt(sql));
}

void Conn::exec(std::string_view sql) {
  check(PQexec(conn_, std::string(sql).c_str()), excerpt(sql));
}

void Conn::rollback() noexcept {
  PQclear(PQexec(conn_, "ROLLBACK"));
}

Result Conn::check(PGresult* res, std::string_view what) const {
  auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Result(res);
  Result owned(res);  // freed when fail() throws
  fail(res, what);
}

void Conn::fail(const PGresult* res, std::string_view what) const {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = one_line(res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
                                                               : PQerrorMessage(conn_));
  if (PQstatus(conn_) == CONNECTION_BAD) msg = "connection lost: " + msg;
  if (state)
    throw PgError(fmt::format("store {}: {}: {} (SQLSTATE {})", where_, what, msg, state), state);
  throw PgError(fmt::format("store {}: {}: {}", where_, what, msg), "");
}

}  // namespace agentgate::registry::pg
