#include "milter/metrics.hpp"

#include <iterator>

#include <fmt/format.h>

namespace agentgate::milter {
namespace {

constexpr std::array<policy::Action, Metrics::kActions> kActionOrder = {
    policy::Action::accept, policy::Action::quarantine, policy::Action::tempfail,
    policy::Action::reject};

std::size_t action_index(policy::Action a) {
  return static_cast<std::size_t>(a);
}

std::size_t direction_index(unsigned directions) {
  if (directions == (policy::kOutbound | policy::kInbound)) return 2;
  return directions & policy::kInbound ? 1 : 0;
}

}  // namespace

std::string_view direction_label(std::size_t direction) {
  static constexpr std::array<std::string_view, Metrics::kDirections> names = {
      "outbound", "inbound", "internal"};
  return names.at(direction);
}

void Metrics::decision(Stage stage, unsigned directions, policy::Action action,
                       const std::vector<policy::Reason>& reasons) {
  bump(decisions_[static_cast<std::size_t>(stage)][direction_index(directions)]
                 [action_index(action)]);
  for (auto r : reasons) bump(reasons_[static_cast<std::size_t>(r)]);
}

void Metrics::proof_verified(std::chrono::nanoseconds took) {
  double seconds = std::chrono::duration<double>(took).count();
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  bump(latency_buckets_[i]);
  bump(latency_count_);
  bump(latency_sum_ns_, static_cast<std::uint64_t>(took.count()));
}

std::uint64_t Metrics::decisions(Stage s, std::size_t direction, policy::Action a) const {
  return decisions_[static_cast<std::size_t>(s)][direction][action_index(a)].load(
      std::memory_order_relaxed);
}

std::uint64_t Metrics::by_action(policy::Action a) const {
  std::uint64_t n = 0;
  for (auto stage : {Stage::rcpt, Stage::eom})
    for (std::size_t d = 0; d < kDirections; ++d) n += decisions(stage, d, a);
  return n;
}

std::uint64_t Metrics::by_reason(policy::Reason r) const {
  return reasons_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
}

std::string Metrics::prometheus() const {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "# HELP agentgate_messages_total Messages that reached end of message.\n");
  fmt::format_to(it, "# TYPE agentgate_messages_total counter\nagentgate_messages_total {}\n",
                 messages());
  fmt::format_to(
      it,
      "# HELP agentgate_decisions_total Decisions on governed mail, by stage, direction and "
      "the action the MTA was told.\n# TYPE agentgate_decisions_total counter\n");
  for (auto stage : {Stage::rcpt, Stage::eom})
    for (std::size_t d = 0; d < kDirections; ++d)
      for (auto a : kActionOrder)
        fmt::format_to(
            it, "agentgate_decisions_total{{stage=\"{}\",direction=\"{}\",action=\"{}\"}} {}\n",
            stage == Stage::rcpt ? "rcpt" : "eom", direction_label(d), policy::to_string(a),
            decisions(stage, d, a));
  fmt::format_to(it,
                 "# HELP agentgate_reasons_total Reason codes found, one count per decision citing "
                 "them.\n# TYPE agentgate_reasons_total counter\n");
  for (std::size_t r = 0; r < policy::kReasonNames.size(); ++r)
    fmt::format_to(it, "agentgate_reasons_total{{reason=\"{}\"}} {}\n", policy::kReasonNames[r],
                   reasons_[r].load(std::memory_order_relaxed));
  fmt::format_to(it,
                 "# HELP agentgate_quarantined_total Messages handed to the MTA's quarantine.\n"
                 "# TYPE agentgate_quarantined_total counter\nagentgate_quarantined_total {}\n",
                 by_action(policy::Action::quarantine));
  fmt::format_to(
      it,
      "# HELP agentgate_proof_verify_seconds Agent-Proof verification time (pure checks).\n"
      "# TYPE agentgate_proof_verify_seconds histogram\n");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += latency_buckets_[i].load(std::memory_order_relaxed);
    fmt::format_to(it, "agentgate_proof_verify_seconds_bucket{{le=\"{}\"}} {}\n",
                   kLatencyBuckets[i], cumulative);
  }
  cumulative += latency_buckets_.back().load(std::memory_order_relaxed);
  fmt::format_to(it, "agentgate_proof_verify_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  fmt::format_to(it, "agentgate_proof_verify_seconds_sum {:.9f}\n",
                 static_cast<double>(latency_sum_ns_.load()) / 1e9);
  fmt::format_to(it, "agentgate_proof_verify_seconds_count {}\n", latency_count_.load());
  fmt::format_to(
      it,
      "# HELP agentgate_internal_errors_total Callbacks that failed and tempfailed.\n"
      "# TYPE agentgate_internal_errors_total counter\nagentgate_internal_errors_total {}\n",
      internal_errors());
  fmt::format_to(it,
                 "# HELP agentgate_event_log_write_errors_total Decisions whose event could not be "
                 "written.\n# TYPE agentgate_event_log_write_errors_total counter\n"
                 "agentgate_event_log_write_errors_total {}\n",
                 event_write_errors());
  fmt::format_to(
      it,
      "# HELP agentgate_reloads_total SIGHUP reloads, by result.\n"
      "# TYPE agentgate_reloads_total counter\n"
      "agentgate_reloads_total{{result=\"ok\"}} {}\nagentgate_reloads_total{{result=\"refused\"}} "
      "{}\n",
      reloads(true), reloads(false));
  return out;
}

}  // namespace agentgate::milter
