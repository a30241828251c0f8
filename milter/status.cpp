#include "milter/status.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "registry/store.hpp"

namespace agentgate::milter {
namespace {

std::size_t active_grants(const registry::Snapshot* snap) {
  if (!snap) return 0;
  auto now = common::now_seconds();
  std::size_t n = 0;
  for (const auto& g : snap->grants())
    if (policy::grant_state(g, now) == policy::GrantState::active) ++n;
  return n;
}

double uptime_seconds(const Runtime& rt) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - rt.started).count();
}

}  // namespace

nlohmann::json status_json(const Runtime& rt, const std::string& config_path) {
  auto cfg = rt.config.load();
  auto snap = rt.registry.snapshot();
  const auto& m = rt.metrics;
  nlohmann::json by_action = nlohmann::json::object();
  for (auto a : {policy::Action::accept, policy::Action::quarantine, policy::Action::tempfail,
                 policy::Action::reject})
    by_action[std::string(policy::to_string(a))] = m.by_action(a);
  nlohmann::json by_reason = nlohmann::json::object();
  for (std::size_t r = 0; r < policy::kReasonNames.size(); ++r)
    if (auto n = m.by_reason(static_cast<policy::Reason>(r)))
      by_reason[std::string(policy::kReasonNames[r])] = n;
  return {
      {"version", AGENTGATE_VERSION},
      {"pid", getpid()},
      {"host", rt.hostname},
      {"uptime_seconds", static_cast<std::int64_t>(uptime_seconds(rt))},
      {"config", config_path},
      {"mode", cfg->policy.mode == policy::Mode::monitor ? "monitor" : "enforce"},
      {"registry",
       {{"generation", snap ? snap->generation() : 0},
        {"identities", snap ? snap->size() : 0},
        {"active_grants", active_grants(snap.get())},
        {"age_ms", rt.registry.age_ms()},
        {"fresh", rt.registry.fresh()}}},
      {"store",
       {{"url", registry::redact_store_url(cfg->store.url)},
        {"healthy", rt.registry.fresh()},
        {"errors", rt.registry.store_errors()},
        // SQLite has no feed (the CLI notifies over the control socket); PostgreSQL's is
        // connected or down (then end of message reads the generation from the store)
        {"change_feed", cfg->store.url.starts_with("sqlite://") ? "none"
                        : rt.registry.pushed()                  ? "connected"
                                                                : "down"},
        {"notifications", rt.registry.notifications()}}},
      {"events", {{"path", rt.events.path()}, {"write_errors", m.event_write_errors()}}},
      {"counts",
       {{"messages", m.messages()},
        {"by_action", by_action},
        {"by_reason", by_reason},
        {"internal_errors", m.internal_errors()}}},
  };
}

std::string prometheus_text(const Runtime& rt) {
  auto snap = rt.registry.snapshot();
  auto age = rt.registry.age_ms();
  std::string out = rt.metrics.prometheus();
  out += fmt::format(
      "# HELP agentgate_registry_generation Registry generation of the snapshot in use.\n"
      "# TYPE agentgate_registry_generation gauge\nagentgate_registry_generation {}\n"
      "# HELP agentgate_registry_age_seconds Time since the store last answered (-1: never).\n"
      "# TYPE agentgate_registry_age_seconds gauge\nagentgate_registry_age_seconds {:.3f}\n"
      "# HELP agentgate_registry_fresh 1 while the snapshot is within store.max_staleness.\n"
      "# TYPE agentgate_registry_fresh gauge\nagentgate_registry_fresh {}\n"
      "# HELP agentgate_registry_identities Identities in the snapshot.\n"
      "# TYPE agentgate_registry_identities gauge\nagentgate_registry_identities {}\n"
      "# HELP agentgate_grants_active Grants active now.\n"
      "# TYPE agentgate_grants_active gauge\nagentgate_grants_active {}\n"
      "# HELP agentgate_store_errors_total Failed store reads and writes.\n"
      "# TYPE agentgate_store_errors_total counter\nagentgate_store_errors_total {}\n"
      "# HELP agentgate_store_change_feed 1 while the store's change feed (PostgreSQL LISTEN) "
      "is connected.\n"
      "# TYPE agentgate_store_change_feed gauge\nagentgate_store_change_feed {}\n"
      "# HELP agentgate_store_notifications_total Change notifications received from the store.\n"
      "# TYPE agentgate_store_notifications_total counter\n"
      "agentgate_store_notifications_total {}\n"
      "# HELP agentgate_uptime_seconds Seconds since agentgated started.\n"
      "# TYPE agentgate_uptime_seconds gauge\nagentgate_uptime_seconds {:.0f}\n"
      "# HELP agentgate_build_info Version of the running agentgated.\n"
      "# TYPE agentgate_build_info gauge\nagentgate_build_info{{version=\"{}\"}} 1\n",
      snap ? snap->generation() : 0, age < 0 ? -1.0 : static_cast<double>(age) / 1000.0,
      rt.registry.fresh() ? 1 : 0, snap ? snap->size() : 0, active_grants(snap.get()),
      rt.registry.store_errors(), rt.registry.pushed() ? 1 : 0, rt.registry.notifications(),
      uptime_seconds(rt), AGENTGATE_VERSION);
  return out;
}

}  // namespace agentgate::milter
