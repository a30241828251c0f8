// A fresh, empty store for the backend-parameterised suites (store, registry, session state,
// audit). SQLite in a TempDir by default. With AGENTGATE_TEST_STORE=postgresql, a database
// with a random name created in the cluster AGENTGATE_TEST_PG_URL names (tests/pg/cluster.sh
// sets it) and dropped at the end. A PostgreSQL run without a reachable cluster fails loudly:
// the constructor throws, and the test with it. Test-only.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "registry/pg_db.hpp"
#include "test_support.hpp"

namespace agentgate::testing {

enum class Backend { sqlite, postgresql };

// The backend the environment asks for; anything but "", "sqlite" or "postgresql" is an error.
inline Backend store_backend() {
  const char* env = getenv("AGENTGATE_TEST_STORE");
  std::string_view name = env ? env : "";
  if (name.empty() || name == "sqlite") return Backend::sqlite;
  if (name == "postgresql") return Backend::postgresql;
  throw std::runtime_error(
      fmt::format("AGENTGATE_TEST_STORE='{}': use sqlite or postgresql", name));
}

// The superuser URL of the test cluster; throws when the run has none.
inline std::string pg_admin_url() {
  const char* url = getenv("AGENTGATE_TEST_PG_URL");
  if (!url || !*url)
    throw std::runtime_error(
        "AGENTGATE_TEST_PG_URL is not set: run under tests/pg/cluster.sh PORT -- ... "
        "(ctest -R unit_pg does)");
  return url;
}

// The same server URL naming another database (the path of postgresql://host:port/DB?opts).
inline std::string pg_url_for(const std::string& server_url, const std::string& database) {
  auto authority = server_url.find("://") + 3;
  auto path = server_url.find_first_of("/?", authority);
  auto query = server_url.find('?', authority);
  std::string head = server_url.substr(0, path);
  std::string tail = query == std::string::npos ? "" : server_url.substr(query);
  return head + "/" + database + tail;
}

class FreshStore {
 public:
  // pg_options: appended to CREATE DATABASE (e.g. a locale), PostgreSQL only.
  explicit FreshStore(Backend backend = store_backend(), std::string_view pg_options = "")
      : backend_(backend) {
    if (backend_ == Backend::sqlite) {
      url_ = "sqlite://" + dir_.file("registry.db");
      return;
    }
    admin_url_ = pg_admin_url();
    std::random_device rd;
    database_ = fmt::format("agentgate_test_{:08x}{:08x}", rd(), rd());
    registry::pg::Conn(admin_url_)
        // FILE_COPY: copying the small template is several times faster than WAL-logging it
        .exec(fmt::format("CREATE DATABASE {} STRATEGY FILE_COPY {}", database_, pg_options));
    url_ = pg_url_for(admin_url_, database_);
  }
  ~FreshStore() {
    if (database_.empty()) return;
    try {  // FORCE: a Store a failed test left open must not keep the database alive
      registry::pg::Conn(admin_url_).exec("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
    } catch (...) {
    }
  }
  FreshStore(const FreshStore&) = delete;
  FreshStore& operator=(const FreshStore&) = delete;

  const std::string& url() const { return url_; }
  Backend backend() const { return backend_; }
  bool postgres() const { return backend_ == Backend::postgresql; }
  const std::string& database() const { return database_; }  // "" for SQLite

  // Runs SQL behind the store's back, as an attacker with access to the database would.
  void exec_sql(const std::string& sql) const {
    if (postgres()) {
      registry::pg::Conn(url_).exec(sql);
      return;
    }
    sqlite3* db = nullptr;
    std::string path = url_.substr(9);
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
      sqlite3_close(db);
      throw std::runtime_error("cannot open " + path);
    }
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    if (rc != SQLITE_OK) throw std::runtime_error("sqlite: " + msg);
  }

  // The integer a one-value query returns, read behind the store's back (a row count, say).
  std::int64_t scalar(const std::string& sql) const {
    if (postgres()) return registry::pg::Conn(url_).query(sql).row(0).integer(0);
    sqlite3* db = nullptr;
    std::string path = url_.substr(9);
    sqlite3_stmt* stmt = nullptr;
    std::int64_t value = 0;
    bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
              sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
              sqlite3_step(stmt) == SQLITE_ROW;
    if (ok) value = sqlite3_column_int64(stmt, 0);
    std::string msg = sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    if (!ok) throw std::runtime_error("sqlite: " + sql + ": " + msg);
    return value;
  }

 private:
  Backend backend_;
  TempDir dir_;
  std::string url_, admin_url_, database_;
};

}  // namespace agentgate::testing
