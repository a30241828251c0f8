// The PostgreSQL change feed: a connection of its own that LISTENs on kPgChannel, where every
// committed registry write announces its new generation. drain() never blocks; it is meant to
// run when socket() is readable (an Asio async_wait on a dup of the descriptor). A broken
// connection is a StoreError from drain() or ping(), never an empty answer: the caller drops the
// listener, opens a new one and polls the generation once, since notifications sent while it was
// away are lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "registry/change_feed.hpp"
#include "registry/pg_db.hpp"

namespace agentgate::registry {

class PgListener final : public ChangeFeed {
 public:
  // Connects (as Store URLs do: same defaults, same errors) and runs LISTEN. Throws StoreError.
  explicit PgListener(const std::string& url);
  ~PgListener() override = default;
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // The connection's descriptor; readable when a notification, or the end of the connection,
  // is waiting. Valid for the listener's lifetime (do not close it: dup it for Asio).
  int socket() const override;
  // Consumes what has arrived without blocking: the highest generation announced since the
  // last call (including any that arrived during ping()), or nullopt. Throws StoreError when the
  // connection is broken.
  std::optional<std::uint64_t> drain() override;
  // A round trip (SELECT 1) that fails within `timeout` if the server is gone or silent.
  // Notifications that arrive with the reply are kept for the next drain(): call drain() after
  // ping(), since the socket will not become readable again for them.
  void ping(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  void collect();  // moves libpq's queued notifications into pending_
  [[noreturn]] void broken(const std::string& why);
  static void on_notice(void* self, const PGresult* notice);

  pg::Conn conn_;
  std::optional<std::uint64_t> pending_;
  std::string fatal_;  // a FATAL the server sent before closing (e.g. pg_terminate_backend)
};

}  // namespace agentgate::registry
