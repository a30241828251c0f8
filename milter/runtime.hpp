// Process-wide state of agentgated, shared by every libmilter thread. libmilter callbacks carry
// no user pointer, so the adapter reaches this through one pointer set before smfi_main() and
// never changed afterwards. Everything in it is either immutable (the config snapshot, swapped
// whole on reload), internally synchronised (RegistryCache, EventLog) or atomic (Metrics).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/config.hpp"
#include "milter/event_log.hpp"
#include "milter/metrics.hpp"
#include "milter/registry_cache.hpp"

namespace agentgate::milter {

struct Runtime {
  Runtime(std::shared_ptr<const common::Config> cfg, std::string host)
      : config(std::move(cfg)),
        registry(config.load()->store.url, config.load()->store.max_staleness),
        events(config.load()->events.path),
        hostname(std::move(host)) {}

  std::atomic<std::shared_ptr<const common::Config>> config;
  RegistryCache registry;
  EventLog events;
  std::string hostname;
  Metrics metrics;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// Set once by the daemon before smfi_main(); read by the callbacks.
void install_runtime(Runtime* runtime);

// One line to the daemon's log (stderr in the foreground, syslog otherwise).
void log_info(const std::string& line);
void log_error(const std::string& line);
void use_syslog(bool enabled);

}  // namespace agentgate::milter
