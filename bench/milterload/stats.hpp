// Counting: a Tally per worker thread (no sharing on the load path, merged at the end) and one
// shared ErrorLog. Errors are counted whether or not the measured window is open, and the
// first few are printed to stderr as they happen: an error is never silently dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "outcome.hpp"

namespace agentgate::bench {

struct Tally {
  uint64_t messages = 0;
  std::array<uint64_t, kFinalReplies> replies{};
  std::map<std::string, uint64_t> reply_codes;
  std::array<uint64_t, kStages> final_stage{};
  std::array<uint64_t, kModifications> modifications{};
  uint64_t rcpt_refused = 0;
  uint64_t skips = 0;
  uint64_t progress = 0;
  std::vector<uint64_t> latency_ns;

  void record(const MessageOutcome& outcome, uint64_t latency);
  void merge(const Tally& other);
};

struct Percentiles {
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};
Percentiles percentiles(std::vector<uint64_t> latency_ns);

class ErrorLog {
 public:
  explicit ErrorLog(unsigned print_limit) : print_limit_(print_limit) {}

  void protocol_error(std::string_view what) { add(protocol_, "protocol error", what); }
  void connection_error(std::string_view what) { add(connection_, "connection error", what); }

  uint64_t protocol_errors() const { return protocol_.load(); }
  uint64_t connection_errors() const { return connection_.load(); }
  uint64_t total() const { return protocol_errors() + connection_errors(); }

 private:
  void add(std::atomic<uint64_t>& counter, std::string_view kind, std::string_view what);

  unsigned print_limit_;
  std::atomic<uint64_t> protocol_{0};
  std::atomic<uint64_t> connection_{0};
  std::mutex print_mutex_;  // serialises stderr lines and the printed count
  unsigned printed_ = 0;
};

}  // namespace agentgate::bench
