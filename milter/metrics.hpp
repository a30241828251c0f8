// Decision counters and the proof-verification latency histogram, shared by every libmilter
// thread (relaxed atomics, no locks) and read by the control plane for /metrics and `status`.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "policy/message.hpp"
#include "policy/reason.hpp"

namespace agentgate::milter {

enum class Stage { rcpt, eom };

class Metrics {
 public:
  static constexpr std::size_t kActions = 4;     // accept, quarantine, tempfail, reject
  static constexpr std::size_t kDirections = 3;  // outbound, inbound, internal (both)
  static constexpr std::array<double, 10> kLatencyBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1};

  // One decision on governed mail: what the MTA was told, why, in which direction.
  void decision(Stage stage, unsigned directions, policy::Action action,
                const std::vector<policy::Reason>& reasons);
  void message_seen() { bump(messages_); }
  void internal_error() { bump(internal_errors_); }
  void event_write_error() { bump(event_write_errors_); }
  void proof_verified(std::chrono::nanoseconds took);
  void reload(bool ok) { bump(ok ? reloads_ok_ : reloads_refused_); }

  std::uint64_t messages() const { return messages_.load(std::memory_order_relaxed); }
  std::uint64_t decisions(Stage s, std::size_t direction, policy::Action a) const;
  std::uint64_t by_action(policy::Action a) const;  // both stages, every direction
  std::uint64_t by_reason(policy::Reason r) const;
  std::uint64_t internal_errors() const { return internal_errors_.load(); }
  std::uint64_t event_write_errors() const { return event_write_errors_.load(); }
  std::uint64_t reloads(bool ok) const { return (ok ? reloads_ok_ : reloads_refused_).load(); }

  // The Prometheus text for everything above (metric names in docs/operations.md).
  std::string prometheus() const;

 private:
  using Counter = std::atomic<std::uint64_t>;
  static void bump(Counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

  Counter messages_{0}, internal_errors_{0}, event_write_errors_{0}, reloads_ok_{0},
      reloads_refused_{0};
  std::array<std::array<std::array<Counter, kActions>, kDirections>, 2> decisions_{};
  std::array<Counter, policy::kReasonNames.size()> reasons_{};
  std::array<Counter, kLatencyBuckets.size() + 1> latency_buckets_{};  // last: +Inf
  Counter latency_count_{0}, latency_sum_ns_{0};
};

std::string_view direction_label(std::size_t direction);

}  // namespace agentgate::milter
