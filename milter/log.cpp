// The daemon's human log: one line per decision and per lifecycle event, to stderr in the
// foreground (systemd's journal picks it up) or syslog(3) when daemonized.
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "milter/runtime.hpp"

namespace agentgate::milter {
namespace {
std::atomic<bool> g_syslog{false};

void emit(int priority, const std::string& line) {
  if (g_syslog.load()) {
    syslog(priority, "%s", line.c_str());
    return;
  }
  fmt::print(stderr, "{} agentgated[{}]: {}{}\n",
             common::format_iso8601_ms(std::chrono::system_clock::now()), getpid(),
             priority == LOG_ERR ? "error: " : "", line);
}
}  // namespace

void use_syslog(bool enabled) {
  if (enabled) openlog("agentgated", LOG_PID, LOG_MAIL);
  g_syslog.store(enabled);
}
void log_info(const std::string& line) {
  emit(LOG_INFO, line);
}
void log_error(const std::string& line) {
  emit(LOG_ERR, line);
}

}  // namespace agentgate::milter
