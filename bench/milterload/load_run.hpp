// The load run: `connections` concurrent milter connections (as Postfix has one per SMTP
// session) spread over `threads` event-loop threads, messages handed out round-robin from the
// prepared set by a shared atomic cursor, a warm-up period that is not counted, then a measured
// window bounded by a message count or a duration. Milter and generator CPU are read at the
// window's edges.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "message.hpp"
#include "report.hpp"
#include "session.hpp"
#include "stats.hpp"

namespace agentgate::bench {

struct RunOptions {
  SessionSettings session;
  unsigned connections = 1;
  unsigned threads = 1;  // event loops; connections are dealt to them in turn
  unsigned messages_per_connection = 1;
  uint64_t count = 0;         // measured messages; 0: run for `duration`
  double duration = 0;        // seconds
  double warmup = 0;          // seconds
  uint64_t max_errors = 100;  // stop early after this many errors
  std::optional<pid_t> milter_pid;
};

// Runs the load; errors go to `errors` as they happen. The report's socket and source
// descriptions are left to the caller.
RunReport run_load(const RunOptions& options, const std::vector<PreparedMessage>& messages,
                   ErrorLog& errors);

}  // namespace agentgate::bench
