// SQLite RAII wrapper.
#include "registry/sqlite_db.hpp"

#include <fmt/format.h>

namespace agentgate::registry::sqlite {
namespace {

constexpr std::size_t kMaxCached = 256;  // distinct SQL texts kept prepared per connection

}  // namespace

Stmt::Stmt(Db& db, std::string_view sql) : db_(db) {
  auto it = db.cache_.find(std::string(sql));
  if (it == db.cache_.end() && db.cache_.size() < kMaxCached)
    it = db.cache_.emplace(std::string(sql), CachedStmt{}).first;
  auto* slot = it == db.cache_.end() ? nullptr : &it->second;  // nodes never move
  if (slot && slot->stmt && !slot->in_use) {
    stmt_ = slot->stmt;
    slot->in_use = true;
    slot_ = slot;
    return;
  }
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK)
    throw StoreError(
        fmt::format("store: cannot prepare statement: {}", sqlite3_errmsg(db.handle())));
  if (slot && !slot->stmt) {
    slot->stmt = stmt_;
    slot->in_use = true;
    slot_ = slot;
  }
}

Stmt::~Stmt() {
  if (!slot_) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  slot_->in_use = false;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Stmt& Stmt::bind_opt(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw StoreError(fmt::format("store: {}", sqlite3_errmsg(db_.handle())));
}

std::string Stmt::text(int col) const {
  auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

std::int64_t Stmt::integer(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Db::Db(const std::string& path, bool create) : path_(path) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(fmt::format("store {}: cannot open: {}", path, msg));
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec(
        fmt::format("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA journal_size_limit={};",
                    kWalSizeLimit));
  } catch (...) {  // "file is not a database": the destructor will not run, so close here
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Db::~Db() {
  for (auto& [sql, slot] : cache_) sqlite3_finalize(slot.stmt);
  sqlite3_close(db_);
}

void Db::exec(std::string_view sql) {
  auto trimmed = sql.substr(0, sql.find_last_not_of(" \n\t;") + 1);
  if (trimmed.find(';') == std::string_view::npos) {  // one statement: prepared once
    Stmt(*this, trimmed).run();
    return;
  }
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw StoreError(fmt::format("store {}: {}", path_, msg));
  }
}

void Db::fail(std::string_view what) const {
  throw StoreError(fmt::format("store {}: {}: {}", path_, what, sqlite3_errmsg(db_)));
}

}  // namespace agentgate::registry::sqlite
