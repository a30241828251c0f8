// The control plane's wait on the store's change feed (PostgreSQL LISTEN; registry/
// change_feed.hpp). A notification announces the new generation to the RegistryCache at once,
// so end of message stops trusting an older snapshot, and triggers a poll that rebuilds it.
// A broken feed is dropped (end of message goes back to reading the generation from the store)
// and reconnected from the poll timer, with a catch-up poll after every reconnect, so a missed
// notification can never leave a change unapplied. Lives on the control plane's io_context.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "milter/registry_cache.hpp"
#include "registry/change_feed.hpp"

namespace agentgate::milter {

class ChangeWatch {
 public:
  // poll: the control plane's store-watch step (rebuilds the snapshot if the generation moved;
  // true when the snapshot is then current).
  ChangeWatch(boost::asio::io_context& io, RegistryCache& registry, std::function<bool()> poll);
  ~ChangeWatch();
  ChangeWatch(const ChangeWatch&) = delete;
  ChangeWatch& operator=(const ChangeWatch&) = delete;

  // Connects the feed if the store has one and it is not connected (at most once per
  // kRetry while it keeps failing). Called from the poll timer. Throws nothing.
  void ensure();
  bool connected() const { return feed_ != nullptr; }

 private:
  void wait();
  void drop(const std::string& why);

  static constexpr std::chrono::seconds kRetry{2};
  boost::asio::io_context& io_;
  RegistryCache& registry_;
  std::function<bool()> poll_;
  bool supported_ = true;  // false once the store said it has no feed (SQLite)
  std::unique_ptr<registry::ChangeFeed> feed_;
  std::optional<boost::asio::posix::stream_descriptor> fd_;  // a dup of the feed's socket
  std::chrono::steady_clock::time_point next_try_{};
  std::string last_error_;
};

}  // namespace agentgate::milter
