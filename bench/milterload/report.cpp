// Text and JSON rendering of a RunReport (see report.hpp).
#include "report.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace agentgate::bench {
namespace {

constexpr const char* kMacroStageNames[kMacroStages] = {"connect", "helo", "mail", "rcpt",
                                                        "data",    "eom",  "eoh"};

double per_message_us(double seconds, uint64_t messages) {
  return messages == 0 ? 0.0 : seconds * 1e6 / static_cast<double>(messages);
}

double rate(const RunReport& r) {
  return r.seconds > 0 ? static_cast<double>(r.tally.messages) / r.seconds : 0.0;
}

nlohmann::json negotiation_json(const Negotiation& n) {
  nlohmann::json macros = nlohmann::json::object();
  for (size_t i = 0; i < kMacroStages; ++i)
    if (!n.macro_lists[i].empty()) macros[kMacroStageNames[i]] = n.macro_lists[i];
  return {{"version", n.version},
          {"actions", fmt::format("0x{:x}", n.actions)},
          {"action_names", describe_actions(n.actions)},
          {"protocol", fmt::format("0x{:x}", n.protocol)},
          {"protocol_names", describe_protocol(n.protocol)},
          {"macro_lists", macros}};
}

void print_counts(std::string_view label, const std::vector<std::pair<std::string, uint64_t>>& c) {
  std::string line;
  for (const auto& [name, n] : c)
    if (n != 0) line += fmt::format("{}{} {}", line.empty() ? "" : ", ", name, n);
  fmt::print("{:<16}{}\n", label, line.empty() ? "none" : line);
}

std::vector<std::pair<std::string, uint64_t>> reply_counts(const Tally& t) {
  std::vector<std::pair<std::string, uint64_t>> c;
  for (size_t i = 0; i < kFinalReplies; ++i) {
    auto reply = static_cast<FinalReply>(i);
    if (reply != FinalReply::replycode) c.emplace_back(name_of(reply), t.replies[i]);
  }
  for (const auto& [code, n] : t.reply_codes) c.emplace_back("replycode " + code, n);
  return c;
}

}  // namespace

void print_text(const RunReport& r) {
  const auto& t = r.tally;
  auto p = percentiles(t.latency_ns);
  fmt::print("milterload → {}: {} connection(s), {} message(s) per connection, {}\n", r.socket,
             r.connections, r.messages_per_connection, r.source);
  if (r.negotiation) {
    const auto& n = *r.negotiation;
    fmt::print("{:<16}version {}, actions {}, protocol {}\n", "negotiated", n.version,
               describe_actions(n.actions), describe_protocol(n.protocol));
    for (size_t i = 0; i < kMacroStages; ++i)
      if (!n.macro_lists[i].empty())
        fmt::print("{:<16}{} macros: {}\n", "", kMacroStageNames[i], n.macro_lists[i]);
  }
  fmt::print("{:<16}{} in {:.2f} s = {:.1f} msgs/s\n", "messages", t.messages, r.seconds, rate(r));
  fmt::print("{:<16}p50 {:.1f}  p99 {:.1f}  p99.9 {:.1f}  max {:.1f}  mean {:.1f}\n", "latency µs",
             p.p50_us, p.p99_us, p.p999_us, p.max_us, p.mean_us);
  print_counts("final replies", reply_counts(t));
  std::vector<std::pair<std::string, uint64_t>> stages, mods;
  for (size_t i = 0; i < kStages; ++i)
    stages.emplace_back(name_of(static_cast<Stage>(i)), t.final_stage[i]);
  for (size_t i = 0; i < kModifications; ++i)
    mods.emplace_back(name_of(static_cast<Modification>(i)), t.modifications[i]);
  mods.emplace_back("rcpt_refused", t.rcpt_refused);
  mods.emplace_back("skip", t.skips);
  mods.emplace_back("progress", t.progress);
  print_counts("answered at", stages);
  print_counts("other replies", mods);
  if (r.milter) {
    const auto& m = *r.milter;
    std::string cpu = m.cpu_seconds ? fmt::format("CPU {:.1f} µs/msg ({:.2f} cores)",
                                                  per_message_us(*m.cpu_seconds, t.messages),
                                                  *m.cpu_seconds / r.seconds)
                                    : "CPU unreadable";
    std::string mem = m.peak_rss_kib ? fmt::format("peak RSS {} KiB, RSS {} KiB", *m.peak_rss_kib,
                                                   m.rss_kib.value_or(0))
                                     : "memory unreadable";
    fmt::print("{:<16}pid {}: {}, {}\n", "milter", m.pid, cpu, mem);
  }
  double gen = r.generator_user_seconds + r.generator_system_seconds;
  fmt::print("{:<16}CPU {:.1f} µs/msg (user {:.1f} + sys {:.1f}; {:.2f} cores)\n", "generator",
             per_message_us(gen, t.messages), per_message_us(r.generator_user_seconds, t.messages),
             per_message_us(r.generator_system_seconds, t.messages), gen / r.seconds);
  fmt::print("{:<16}protocol {}, connection {}\n", "errors", r.protocol_errors,
             r.connection_errors);
  std::fflush(stdout);
}

void print_json(const RunReport& r) {
  const auto& t = r.tally;
  auto p = percentiles(t.latency_ns);
  nlohmann::json replies = nlohmann::json::object();
  for (size_t i = 0; i < kFinalReplies; ++i)
    if (static_cast<FinalReply>(i) != FinalReply::replycode)
      replies[std::string(name_of(static_cast<FinalReply>(i)))] = t.replies[i];
  replies["replycode"] = t.reply_codes;
  nlohmann::json stages = nlohmann::json::object();
  for (size_t i = 0; i < kStages; ++i)
    stages[std::string(name_of(static_cast<Stage>(i)))] = t.final_stage[i];
  nlohmann::json mods = nlohmann::json::object();
  for (size_t i = 0; i < kModifications; ++i)
    mods[std::string(name_of(static_cast<Modification>(i)))] = t.modifications[i];
  double gen = r.generator_user_seconds + r.generator_system_seconds;
  nlohmann::json out = {
      {"socket", r.socket},
      {"connections", r.connections},
      {"messages_per_connection", r.messages_per_connection},
      {"source", r.source},
      {"messages", t.messages},
      {"seconds", r.seconds},
      {"msgs_per_s", rate(r)},
      {"latency_us",
       {{"p50", p.p50_us},
        {"p99", p.p99_us},
        {"p99_9", p.p999_us},
        {"max", p.max_us},
        {"mean", p.mean_us}}},
      {"final_replies", replies},
      {"final_stage", stages},
      {"modifications", mods},
      {"rcpt_refused", t.rcpt_refused},
      {"skips", t.skips},
      {"progress", t.progress},
      {"protocol_errors", r.protocol_errors},
      {"connection_errors", r.connection_errors},
      {"negotiated", r.negotiation ? negotiation_json(*r.negotiation) : nlohmann::json()},
      {"generator",
       {{"cpu_us_per_msg", per_message_us(gen, t.messages)},
        {"user_us_per_msg", per_message_us(r.generator_user_seconds, t.messages)},
        {"sys_us_per_msg", per_message_us(r.generator_system_seconds, t.messages)},
        {"cpu_cores", gen / r.seconds}}},
  };
  if (r.milter) {
    const auto& m = *r.milter;
    nlohmann::json milter = {{"pid", m.pid}};
    milter["cpu_us_per_msg"] =
        m.cpu_seconds ? nlohmann::json(per_message_us(*m.cpu_seconds, t.messages)) : nullptr;
    milter["cpu_cores"] = m.cpu_seconds ? nlohmann::json(*m.cpu_seconds / r.seconds) : nullptr;
    milter["vm_hwm_kib"] = m.peak_rss_kib ? nlohmann::json(*m.peak_rss_kib) : nullptr;
    milter["vm_rss_kib"] = m.rss_kib ? nlohmann::json(*m.rss_kib) : nullptr;
    out["milter"] = milter;
  } else {
    out["milter"] = nullptr;
  }
  fmt::print("{}\n", out.dump());
  std::fflush(stdout);
}

}  // namespace agentgate::bench
