// A thin RAII layer over the SQLite C API: a connection, prepared statements with typed binds,
// and errors turned into StoreError. Nothing registry-specific lives here.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/store.hpp"

namespace agentgate::registry::sqlite {

class Db;

// The WAL file is cut back to this size when a writer starts it over after a complete
// checkpoint. Without a limit it keeps the size of its largest burst for good (365 MB after
// 20,000 governed messages back to back on the benchmark machine); below the limit it is
// reused in place, so steady traffic does not pay to grow it again.
constexpr std::int64_t kWalSizeLimit = 64 * 1024 * 1024;

struct CachedStmt {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;
};

// A statement from the connection's cache: prepared once per connection and SQL text, reset and
// unbound when the Stmt goes away (a second Stmt of the same text while the first is alive gets
// a private one). Preparing costs more than running most of the store's statements.
class Stmt {
 public:
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind_null(int index);
  Stmt& bind_opt(int index, const std::optional<std::int64_t>& value);
  // Advances to the next row; false when done. Throws StoreError on failure.
  bool step();
  void run() {
    while (step()) {
    }
  }
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  bool is_null(int col) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
  CachedStmt* slot_ = nullptr;  // null: a private statement, finalized here
};

class Db {
 public:
  // Opens (creating if allowed) the database file; WAL mode (bounded by kWalSizeLimit),
  // foreign keys on, busy timeout.
  Db(const std::string& path, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs SQL (one or more statements, no results); single statements go through the cache.
  void exec(std::string_view sql);
  sqlite3* handle() const { return db_; }
  [[noreturn]] void fail(std::string_view what) const;

 private:
  friend class Stmt;
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<std::string, CachedStmt> cache_;
};

// One transaction, opened with `begin` ("BEGIN", or "BEGIN IMMEDIATE" to take the write lock
// up front): commit() ends it; leaving the scope without commit() (an exception, an early
// return) rolls it back. Declare statements after it, so they are reset before the rollback.
class Transaction {
 public:
  Transaction(Db& db, std::string_view begin) : db_(db) { db_.exec(begin); }
  ~Transaction() {
    if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    db_.exec("COMMIT");
    open_ = false;
  }

 private:
  Db& db_;
  bool open_ = true;
};

}  // namespace agentgate::registry::sqlite
