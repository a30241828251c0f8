// The native milter engine's I/O: N event-loop threads, each with its own epoll, accepting from
// one shared listening socket (EPOLLEXCLUSIVE spreads the accepts) and keeping each connection
// on the loop that accepted it. Per readiness: one large read, every complete packet processed,
// the replies written in one write. Filter steps run inline on the loop thread. A connection
// idle past the idle timeout is closed; when accept() runs out of descriptors the loop stops
// watching the listener for a moment instead of spinning on it.
// It never closes the listening socket (the caller owns it) and never throws out of run().
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "milter/native/connection.hpp"

namespace agentgate::milter::native {

class NativeServer {
 public:
  // libmilter's default: an MTA connection silent this long is closed (its session aborted).
  static constexpr std::chrono::milliseconds kIdleTimeout{7210 * 1000};

  // listen_fd: listening, non-blocking (see open_native_listener). threads: event loops (>= 1).
  // Throws std::system_error if an epoll or eventfd cannot be created.
  NativeServer(int listen_fd, unsigned threads = 2,
               const FilterSteps& steps = default_filter_steps(),
               std::chrono::milliseconds idle_timeout = kIdleTimeout);
  ~NativeServer();
  NativeServer(const NativeServer&) = delete;
  NativeServer& operator=(const NativeServer&) = delete;

  // Runs the loops (one on the calling thread); returns once stop() was called and every loop
  // has ended its connections (each MTA connection's filter session is aborted and closed).
  void run();
  // From any thread, also before run() or from a signal handler (it only writes eventfds).
  void stop();
  unsigned threads() const { return static_cast<unsigned>(loops_.size()); }

  struct Loop;  // one event loop (server.cpp)

 private:
  int listen_fd_;
  FilterSteps steps_;
  std::chrono::milliseconds idle_timeout_;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Loop>> loops_;
};

// Parses a libmilter socket spec ("unix:/path", "local:/path", "/path", "inet:PORT",
// "inet:PORT@HOST", "inet6:PORT@HOST"; HOST may be a name, an address or "[address]") and
// returns a listening, non-blocking, close-on-exec socket (backlog 256). A stale unix socket
// file is removed first; the caller applies its mode and group. Throws std::runtime_error
// naming the spec on failure.
int open_native_listener(const std::string& spec);

// The pure part of open_native_listener, for tests.
struct ListenSpec {
  enum class Kind { unix_path, inet, inet6 } kind = Kind::unix_path;
  std::string path;  // unix
  std::string port;  // inet, inet6
  std::string host;  // inet, inet6: "" = any address
};
ListenSpec parse_listen_spec(const std::string& spec);  // throws std::runtime_error

}  // namespace agentgate::milter::native
