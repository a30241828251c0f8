// Decision formatting.
#include "milter/decision_event.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include <fmt/format.h>

#include "common/timefmt.hpp"

namespace agentgate::milter {
namespace {

std::string reasons_joined(const policy::Verdict& v, std::string_view sep) {
  std::string out;
  for (auto r : v.reasons) {
    if (!out.empty()) out += sep;
    out += policy::to_string(r);
  }
  return out;
}

std::string_view outcome(policy::Action a) {
  return a == policy::Action::accept ? "success" : "failure";
}

}  // namespace

namespace {

// splitmix64 over one process-wide counter, seeded once: libmilter runs every connection on a
// new thread, so a per-thread generator would read the kernel's entropy for every message.
std::uint64_t next_random() {
  static std::atomic<std::uint64_t> state{(std::uint64_t{std::random_device{}()} << 32) ^
                                          std::random_device{}()};
  auto z = state.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string make_event_id() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return fmt::format("{:012x}{:08x}", ms & 0xffffffffffffLL, next_random() & 0xffffffffu);
}

std::string_view direction_name(unsigned d) {
  if (d == (policy::kOutbound | policy::kInbound)) return "internal";
  if (d & policy::kOutbound) return "outbound";
  if (d & policy::kInbound) return "inbound";
  return "unknown";
}

nlohmann::json ecs_event(const Decision& d, const policy::PolicySettings& s,
                         std::string_view hostname) {
  const auto& f = *d.facts;
  const auto& v = d.verdict;
  nlohmann::json reasons = nlohmann::json::array();
  for (auto r : v.reasons) reasons.push_back(policy::to_string(r));
  nlohmann::json j;
  j["@timestamp"] = common::format_iso8601_ms(std::chrono::system_clock::now());
  j["event"] = {{"id", d.event_id},
                {"kind", "event"},
                {"category", {"email"}},
                {"type", {"info"}},
                {"action", policy::to_string(v.action)},
                {"outcome", outcome(v.action)},
                {"reason", v.detail.empty() ? std::string("all checks passed") : v.detail},
                {"module", "agentgate"}};
  j["rule"] = {{"name", v.reasons.empty() ? std::string("none")
                                          : std::string(policy::to_string(v.reasons.front()))}};
  nlohmann::json to = d.to;
  j["email"] = {{"direction", direction_name(v.directions)},
                {"from", {{"address", {f.mail_from}}}},
                {"to", {{"address", to}}},
                {"message_id", f.message_id},
                {"subject", f.subject},
                {"local_id", f.queue_id}};
  j["source"] = {{"ip", f.client_addr}};
  j["observer"] = {{"hostname", hostname}, {"product", "agentgate"}, {"type", "mta-filter"}};
  j["user"] = {{"name", f.auth_login}};
  j["gen_ai"] = {{"agent", {{"id", v.sender_identity}}}};
  j["agentgate"] = {{"reasons", reasons},
                    {"grant", v.grant},
                    {"task", v.task},
                    {"mode", s.mode == policy::Mode::enforce ? "enforce" : "monitor"},
                    {"would_action", policy::to_string(v.would_action)},
                    {"stage", d.stage},
                    {"untrusted", v.untrusted},
                    {"recipient_identities", v.recipient_identities}};
  return j;
}

std::string log_line(const Decision& d) {
  const auto& f = *d.facts;
  const auto& v = d.verdict;
  std::string to;
  for (const auto& r : d.to) to += (to.empty() ? "" : ",") + r;
  return fmt::format("{}: {} {} {}{} identity={} from=<{}> to=<{}> reasons={} event={}{}",
                     f.queue_id.empty() ? "NOQUEUE" : f.queue_id, d.stage,
                     direction_name(v.directions), policy::to_string(v.action),
                     v.action != v.would_action
                         ? fmt::format(" (would {})", policy::to_string(v.would_action))
                         : "",
                     v.sender_identity.empty() ? "-" : v.sender_identity, f.mail_from, to,
                     v.reasons.empty() ? "none" : reasons_joined(v, ","), d.event_id,
                     v.detail.empty() ? "" : ": " + v.detail);
}

std::string reply_text(const Decision& d) {
  const auto& v = d.verdict;
  // smfi_setreply-safe: no control characters, '%' doubled; only the detail is cut, so the
  // code and the event id always survive.
  auto clean = [](std::string_view in, size_t limit) {
    std::string out;
    for (char c : in) {
      if (out.size() >= limit) {
        out += "...";
        break;
      }
      if (c == '%')
        out += "%%";
      else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        out += ' ';
      else
        out += c;
    }
    return out;
  };
  auto code =
      v.reasons.empty() ? std::string_view("internal_error") : policy::to_string(v.reasons.front());
  return fmt::format("agentgate: {}: {} (event {})", code, clean(v.detail, 300),
                     clean(d.event_id, 40));
}

std::string result_header(const Decision& d, const policy::PolicySettings& s) {
  const auto& v = d.verdict;
  std::vector<std::string> ids;
  if (!v.sender_identity.empty()) ids.push_back(v.sender_identity);
  for (const auto& r : v.recipient_identities)
    if (std::find(ids.begin(), ids.end(), r) == ids.end()) ids.push_back(r);
  std::string identity;
  for (const auto& id : ids) identity += (identity.empty() ? "" : ",") + id;
  return fmt::format(
      "{}; verdict={}; direction={}; identity={}; grant={}; task={}; reasons={}; "
      "trust={}; mode={}; event={}",
      s.gateway, policy::to_string(v.would_action), direction_name(v.directions),
      identity.empty() ? "-" : identity, v.grant.empty() ? "-" : v.grant,
      v.task.empty() ? "-" : v.task, v.reasons.empty() ? "none" : reasons_joined(v, ","),
      v.untrusted ? "untrusted" : "trusted",
      s.mode == policy::Mode::enforce ? "enforce" : "monitor", d.event_id);
}

}  // namespace agentgate::milter
