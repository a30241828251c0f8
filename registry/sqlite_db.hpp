// A thin RAII layer over the SQLite C API: a connection, prepared statements with typed binds,
// and errors turned into StoreError. Nothing registry-specific lives here.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "registry/store.hpp"

namespace agentgate::registry::sqlite {

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
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
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  // Opens (creating if allowed) the database file; WAL mode, foreign keys on, busy timeout.
  Db(const std::string& path, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(std::string_view sql);
  sqlite3* handle() const { return db_; }
  [[noreturn]] void fail(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace agentgate::registry::sqlite
