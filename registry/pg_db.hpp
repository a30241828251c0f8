// A thin RAII layer over libpq: a connection opened from a postgresql:// URL, parameterised
// statements (text format, prepared once per connection and SQL text), results, and every
// failure turned into a StoreError carrying the SQLSTATE. Nothing registry-specific lives here,
// and no error message ever carries the password of the URL.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/store.hpp"

namespace agentgate::registry::pg {

// A StoreError from the server or libpq; sqlstate() is "" when libpq gave none (connection lost).
class PgError : public StoreError {
 public:
  PgError(const std::string& message, std::string sqlstate)
      : StoreError(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// The URL with any password removed (user:secret@ and ?password=), for messages and logs.
std::string redact_url(std::string_view url);
// libpq's messages span lines ("...\n\tThis probably means..."): one line, for line-based logs.
std::string one_line(std::string_view text);

// Text as PostgreSQL's UTF8 encoding accepts it: every byte that is not part of a well-formed
// UTF-8 sequence, and NUL, becomes U+FFFD. Mail headers are raw bytes (an 8-bit Subject, a cut
// at 998 bytes inside a character); SQLite stores them as given, PostgreSQL would refuse the
// whole statement (SQLSTATE 22021) and the message would tempfail forever.
std::string valid_utf8(std::string_view text);

// One parameter in text format (valid_utf8); nullopt is SQL NULL.
class Param {
 public:
  Param(std::string_view text) : value_(valid_utf8(text)) {}    // NOLINT: implicit on purpose
  Param(const std::string& text) : value_(valid_utf8(text)) {}  // NOLINT
  Param(const char* text) : value_(valid_utf8(text)) {}         // NOLINT
  Param(std::int64_t n) : value_(std::to_string(n)) {}          // NOLINT
  Param(std::nullopt_t) {}                                      // NOLINT
  Param(const std::optional<std::int64_t>& n) {                 // NOLINT
    if (n) value_ = std::to_string(*n);
  }
  const char* c_str() const { return value_ ? value_->c_str() : nullptr; }

 private:
  std::optional<std::string> value_;
};
using Params = std::initializer_list<Param>;

class Result;

// One row of a Result, in the shape registry/row_codec.hpp decodes.
class Row {
 public:
  Row(const Result& result, int row) : result_(result), row_(row) {}
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  bool is_null(int col) const;

 private:
  const Result& result_;
  int row_;
};

class Result {
 public:
  explicit Result(PGresult* res) : res_(res) {}
  ~Result() { PQclear(res_); }
  Result(Result&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;

  int rows() const { return PQntuples(res_); }
  bool empty() const { return rows() == 0; }
  Row row(int r) const { return Row(*this, r); }
  // Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t affected() const;
  PGresult* get() const { return res_; }

 private:
  PGresult* res_;
};

class Conn {
 public:
  // Connects (connect_timeout 5 s, application_name agentgate, client_encoding UTF8, each
  // overridable in the URL; every other libpq option passes through). Throws StoreError.
  explicit Conn(const std::string& url);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one parameterised statement, prepared on first use of its SQL text.
  Result query(std::string_view sql, Params params = {});
  // Runs SQL text without parameters; several statements may be separated by ';'.
  void exec(std::string_view sql);
  // ROLLBACK, swallowing errors: for unwinding, where the first error is the one to report.
  void rollback() noexcept;

  PGconn* handle() const { return conn_; }
  const std::string& where() const { return where_; }  // the redacted URL, for messages
  // Throws the PgError for res (or for the connection, when res is null).
  [[noreturn]] void fail(const PGresult* res, std::string_view what) const;

 private:
  Result check(PGresult* res, std::string_view what) const;

  PGconn* conn_ = nullptr;
  std::string where_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

}  // namespace agentgate::registry::pg
