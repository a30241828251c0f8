// URL dispatch to a change feed: only the shared store has one.
#include "registry/change_feed.hpp"

#include "registry/pg_listener.hpp"

namespace agentgate::registry {

std::unique_ptr<ChangeFeed> open_change_feed(const std::string& url) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://"))
    return std::make_unique<PgListener>(url);
  return nullptr;
}

}  // namespace agentgate::registry
