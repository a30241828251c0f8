// URL dispatch to a Store backend.
#include <stdexcept>

#include "registry/pg_db.hpp"
#include "registry/pg_store.hpp"
#include "registry/sqlite_store.hpp"
#include "registry/store.hpp"

namespace agentgate::registry {

std::unique_ptr<Store> open_store(const std::string& url, bool create) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) {
    auto path = url.substr(kSqlite.size());
    if (path.empty()) throw std::invalid_argument("store url '" + url + "' names no file");
    return open_sqlite_store(path, create);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://"))
    return open_pg_store(url, create);
  throw std::invalid_argument("store url '" + redact_store_url(url) +
                              "' must start with sqlite:// or postgresql://");
}

std::string redact_store_url(const std::string& url) {
  if (url.starts_with("sqlite://")) return url;  // a path: no secrets
  return pg::redact_url(url);
}

}  // namespace agentgate::registry
