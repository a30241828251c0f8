// The result of a run, printed for people or as one JSON object (--json).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "protocol.hpp"
#include "stats.hpp"

namespace agentgate::bench {

struct MilterUsage {
  pid_t pid = 0;
  std::optional<double> cpu_seconds;  // over the measured window
  std::optional<long> peak_rss_kib;   // VmHWM at the end
  std::optional<long> rss_kib;        // VmRSS at the end
};

struct RunReport {
  std::string socket;
  unsigned connections = 0;
  unsigned messages_per_connection = 0;
  std::string source;  // what was sent, for the reader
  double seconds = 0;
  Tally tally;
  std::optional<Negotiation> negotiation;  // as seen on the first connection
  double generator_user_seconds = 0;
  double generator_system_seconds = 0;
  std::optional<MilterUsage> milter;
  uint64_t protocol_errors = 0;
  uint64_t connection_errors = 0;
};

void print_text(const RunReport& report);
void print_json(const RunReport& report);

}  // namespace agentgate::bench
