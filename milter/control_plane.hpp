// agentgated's control plane: one Boost.Asio io_context on its own thread, off the mail path.
// It runs the store watch (a timer polling the registry generation, kicked early by a
// `refresh` request, SIGHUP or the store's change feed: milter/change_watch.hpp), the control
// socket (local admin: `status`, `refresh`, `ping`; one request line, one JSON reply line) and the
// HTTP listener for /metrics and /healthz. It meets the libmilter threads only through the Runtime:
// the atomically swapped snapshot and config, and relaxed atomic counters.
#pragma once

#include <memory>
#include <string>

#include "common/config.hpp"
#include "milter/runtime.hpp"

namespace agentgate::milter {

class ControlPlane {
 public:
  // Binds the control socket and the metrics listener (before the privilege drop). A socket
  // that cannot be bound is logged and left off: mail keeps flowing, the CLI falls back to
  // the store watch.
  ControlPlane(Runtime& runtime, const common::Config& config, std::string config_path);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  void start();        // starts the io_context thread
  void stop();         // stops it and removes the control socket; idempotent
  void refresh_now();  // re-read the registry as soon as possible

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgate::milter
