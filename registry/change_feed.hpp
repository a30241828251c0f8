// Push notification of registry changes, for stores that have it: PostgreSQL's LISTEN/NOTIFY,
// where every registry write commits its change, its audit record and a notification carrying
// the new generation in one transaction. The daemon's control plane waits on socket() with
// Asio and drains on readability. A feed is a hint that makes changes arrive sooner, never the
// only path: the store watch's poll still reads the generation on its timer, and catches up
// after every reconnect.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace agentgate::registry {

class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // A descriptor that becomes readable when a notification (or a broken connection) waits.
  virtual int socket() const = 0;
  // Consumes whatever arrived without blocking: the highest generation announced since the
  // last call, if any. Throws StoreError when the connection is broken.
  virtual std::optional<std::uint64_t> drain() = 0;
};

// The feed for a store URL: nullptr for stores without push (SQLite: one host, where the
// poll is a cheap local read and the CLI notifies the daemon directly). Throws StoreError when
// the store cannot be reached.
std::unique_ptr<ChangeFeed> open_change_feed(const std::string& url);

}  // namespace agentgate::registry
