// Tallies, percentiles and the error log (see stats.hpp).
#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <fmt/format.h>

namespace agentgate::bench {

std::string_view name_of(FinalReply r) {
  static constexpr std::string_view names[] = {"continue", "accept",    "reject",  "tempfail",
                                               "discard",  "replycode", "shutdown"};
  return names[static_cast<size_t>(r)];
}

std::string_view name_of(Stage s) {
  static constexpr std::string_view names[] = {"connect", "helo", "mail", "rcpt", "data",
                                               "header",  "eoh",  "body", "eom"};
  return names[static_cast<size_t>(s)];
}

std::string_view name_of(Modification m) {
  static constexpr std::string_view names[] = {
      "add_header", "insert_header", "change_header", "quarantine",   "change_from",
      "add_rcpt",   "add_rcpt_par",  "delete_rcpt",   "replace_body",
  };
  return names[static_cast<size_t>(m)];
}

void Tally::record(const MessageOutcome& outcome, uint64_t latency) {
  ++messages;
  ++replies[static_cast<size_t>(outcome.reply)];
  if (outcome.reply == FinalReply::replycode) ++reply_codes[outcome.code];
  ++final_stage[static_cast<size_t>(outcome.stage)];
  for (size_t i = 0; i < kModifications; ++i) modifications[i] += outcome.modifications[i];
  rcpt_refused += outcome.rcpt_refused;
  skips += outcome.skips;
  progress += outcome.progress;
  latency_ns.push_back(latency);
}

void Tally::merge(const Tally& other) {
  messages += other.messages;
  for (size_t i = 0; i < kFinalReplies; ++i) replies[i] += other.replies[i];
  for (const auto& [code, n] : other.reply_codes) reply_codes[code] += n;
  for (size_t i = 0; i < kStages; ++i) final_stage[i] += other.final_stage[i];
  for (size_t i = 0; i < kModifications; ++i) modifications[i] += other.modifications[i];
  rcpt_refused += other.rcpt_refused;
  skips += other.skips;
  progress += other.progress;
  latency_ns.insert(latency_ns.end(), other.latency_ns.begin(), other.latency_ns.end());
}

Percentiles percentiles(std::vector<uint64_t> latency_ns) {
  Percentiles p;
  if (latency_ns.empty()) return p;
  std::sort(latency_ns.begin(), latency_ns.end());
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  auto at = [&](double q) {
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(latency_ns.size())));
    rank = std::clamp<size_t>(rank, 1, latency_ns.size());
    return static_cast<double>(latency_ns[rank - 1]) / 1000.0;
  };
  p.p50_us = at(0.50);
  p.p99_us = at(0.99);
  p.p999_us = at(0.999);
  p.max_us = static_cast<double>(latency_ns.back()) / 1000.0;
  double sum = std::accumulate(latency_ns.begin(), latency_ns.end(), 0.0,
                               [](double a, uint64_t b) { return a + static_cast<double>(b); });
  p.mean_us = sum / static_cast<double>(latency_ns.size()) / 1000.0;
  return p;
}

void ErrorLog::add(std::atomic<uint64_t>& counter, std::string_view kind, std::string_view what) {
  counter.fetch_add(1);
  std::lock_guard lock(print_mutex_);
  if (printed_ < print_limit_) {
    fmt::print(stderr, "milterload: {}: {}\n", kind, what);
  } else if (printed_ == print_limit_) {
    fmt::print(stderr, "milterload: further errors are counted, not printed\n");
  }
  if (printed_ <= print_limit_) ++printed_;
}

}  // namespace agentgate::bench
