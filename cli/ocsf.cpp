// ECS to OCSF 1.1.0 Email Activity. Every attribute name and enum value below is taken from the
// OCSF 1.1.0 schema (ocsf-schema: events/network/email.json, profiles/security_control.json,
// profiles/host.json, objects/email.json, objects/metadata.json, dictionary.json); the mapping
// table is documented in docs/operations.md ("SIEM export").
#include "cli/ocsf.hpp"

#include <cctype>
#include <initializer_list>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/timefmt.hpp"

namespace agentgate::cli {
namespace {

using nlohmann::json;

constexpr int kNetworkActivityCategory = 4;

// Walks nested objects; nullptr when a step is missing or is not an object.
const json* find(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

// The string at path, or "" when it is absent or not a string.
std::string text(const json& j, std::initializer_list<const char*> path) {
  const json* v = find(j, path);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// ECS address fields are arrays of strings (a single string is accepted too).
std::vector<std::string> addresses(const json& j, std::initializer_list<const char*> path) {
  std::vector<std::string> out;
  const json* v = find(j, path);
  if (!v) return out;
  if (v->is_string()) out.push_back(v->get<std::string>());
  if (v->is_array())
    for (const auto& a : *v)
      if (a.is_string()) out.push_back(a.get<std::string>());
  return out;
}

const char* severity_caption(int id) {
  switch (id) {
    case 1:
      return "Informational";
    case 2:
      return "Low";
    case 3:
      return "Medium";
    case 4:
      return "High";
    default:
      return "Unknown";
  }
}

// security_control profile: disposition_id and the action_id it conforms to
// (0 Unknown, 1 Allowed, 2 Denied), with the severity agentgate gives the event.
struct Disposition {
  int id;
  const char* caption;  // empty: the ECS action itself (99 Other)
  int action_id;
  int severity_id;
};

Disposition disposition_for(std::string_view action, bool monitor_violation) {
  // Monitor mode accepted mail that enforce mode would refuse: the control saw a policy
  // violation and let it through.
  if (action == "accept" && monitor_violation) return {15, "Detected", 1, 2};
  if (action == "accept") return {1, "Allowed", 1, 1};
  if (action == "reject") return {2, "Blocked", 2, 3};
  // An SMTP 4xx refuses this attempt; the MTA retries later: the message is delayed, and this
  // delivery attempt was denied.
  if (action == "tempfail") return {14, "Delayed", 2, 2};
  if (action == "quarantine") return {3, "Quarantined", 2, 3};
  // Admin actions on held mail: release delivers it, delete discards it for good.
  if (action == "release") return {9, "Restored", 1, 1};
  if (action == "delete") return {5, "Deleted", 2, 1};
  return {99, "", 0, 0};
}

// Email Activity activity_id: a decision is the agent sending (outbound) or receiving (inbound)
// mail; mail that is both, or of unknown direction, is what the gateway did to it: Scan.
// Admin actions on held mail are none of these: 99 Other, named by activity_name.
std::pair<int, std::string> activity_for(std::string_view action, std::string_view direction) {
  if (action == "release") return {99, "Release"};
  if (action == "delete") return {99, "Delete"};
  if (direction == "outbound") return {1, "Send"};
  if (direction == "inbound") return {2, "Receive"};
  return {3, "Scan"};
}

// Email Activity direction_id: 0 Unknown, 1 Inbound, 2 Outbound, 3 Internal, 99 Other.
std::pair<int, std::string> direction_for(const std::string& direction) {
  if (direction == "inbound") return {1, "Inbound"};
  if (direction == "outbound") return {2, "Outbound"};
  if (direction == "internal") return {3, "Internal"};
  if (direction.empty() || direction == "unknown") return {0, "Unknown"};
  return {99, direction};
}

// base_event status_id follows ECS event.outcome: 1 Success, 2 Failure, 0 Unknown.
std::pair<int, const char*> status_for(const std::string& outcome) {
  if (outcome == "success") return {1, "Success"};
  if (outcome == "failure") return {2, "Failure"};
  return {0, "Unknown"};
}

json email_object(const json& ecs) {
  // agentgate records the envelope (MAIL FROM, RCPT TO). OCSF requires from and to, the
  // header values; for an agent sender the gateway enforces that they match the envelope
  // (header_from_mismatch), so both carry the envelope addresses.
  auto from = addresses(ecs, {"email", "from", "address"});
  auto to = addresses(ecs, {"email", "to", "address"});
  json email = {{"from", from.empty() ? std::string() : from.front()}, {"to", to}};
  if (!from.empty()) email["smtp_from"] = from.front();
  if (!to.empty()) email["smtp_to"] = to;
  if (auto v = text(ecs, {"email", "message_id"}); !v.empty()) email["message_uid"] = v;
  if (auto v = text(ecs, {"email", "local_id"}); !v.empty()) email["uid"] = v;
  if (auto v = text(ecs, {"email", "subject"}); !v.empty()) email["subject"] = v;
  return email;
}

json metadata_object(const json& ecs, const OcsfOptions& o) {
  json m = {{"version", kOcsfVersion},
            {"product",
             {{"name", "agentgate"}, {"vendor_name", "agentgate"}, {"version", o.product_version}}},
            {"profiles", {"security_control", "host"}},
            {"log_name", o.log_name},
            {"original_time", text(ecs, {"@timestamp"})}};
  if (auto id = text(ecs, {"event", "id"}); !id.empty()) m["uid"] = id;
  if (const json* seq = find(ecs, {"event", "sequence"}); seq && seq->is_number_integer())
    m["sequence"] = *seq;
  return m;
}

// What OCSF 1.1 has no attribute for: the reason codes, grant, task, mode, would_action and
// the rest of the ECS `agentgate` object, the agent identity, the rule and the chain hash.
json unmapped_object(const json& ecs) {
  json a = json::object();
  if (const json* g = find(ecs, {"agentgate"}); g && g->is_object()) a = *g;
  if (auto v = text(ecs, {"gen_ai", "agent", "id"}); !v.empty()) a["identity"] = v;
  if (auto v = text(ecs, {"rule", "name"}); !v.empty()) a["rule"] = v;
  if (auto v = text(ecs, {"event", "hash"}); !v.empty()) a["event_hash"] = v;
  if (!a.contains("reasons")) a["reasons"] = json::array();
  return {{"agentgate", a}};
}

}  // namespace

std::optional<std::int64_t> iso8601_to_epoch_ms(std::string_view text) {
  auto t = common::parse_iso8601(text);
  if (!t) return std::nullopt;
  std::int64_t ms = std::int64_t{t->time_since_epoch().count()} * 1000;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    std::int64_t scale = 100;
    for (size_t i = dot + 1; i < text.size() && scale > 0; ++i, scale /= 10) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) break;
      ms += (text[i] - '0') * scale;
    }
  }
  return ms;
}

policy::Result<json> ecs_to_ocsf(const json& ecs, const OcsfOptions& options) {
  if (!ecs.is_object()) return policy::refuse("not_an_event", "not a JSON object");
  auto timestamp = text(ecs, {"@timestamp"});
  auto time_ms = iso8601_to_epoch_ms(timestamp);
  if (!time_ms) return policy::refuse("not_an_event", "@timestamp is missing or not ISO 8601");
  auto action = text(ecs, {"event", "action"});
  if (action.empty()) return policy::refuse("not_an_event", "event.action is missing");

  auto direction = text(ecs, {"email", "direction"});
  auto would = text(ecs, {"agentgate", "would_action"});
  bool monitor_violation =
      text(ecs, {"agentgate", "mode"}) == "monitor" && !would.empty() && would != "accept";
  auto disposition = disposition_for(action, monitor_violation);
  auto [activity_id, activity_name] = activity_for(action, direction);
  auto [direction_id, direction_name] = direction_for(direction);
  auto [status_id, status] = status_for(text(ecs, {"event", "outcome"}));
  auto reason = text(ecs, {"event", "reason"});

  json r = {
      {"class_uid", kOcsfEmailActivityClass},
      {"class_name", "Email Activity"},
      {"category_uid", kNetworkActivityCategory},
      {"category_name", "Network Activity"},
      {"activity_id", activity_id},
      {"activity_name", activity_name},
      {"type_uid", std::int64_t{kOcsfEmailActivityClass} * 100 + activity_id},
      {"type_name", "Email Activity: " + activity_name},
      {"time", *time_ms},
      {"severity_id", disposition.severity_id},
      {"severity", severity_caption(disposition.severity_id)},
      {"status_id", status_id},
      {"status", status},
      {"direction_id", direction_id},
      {"direction", direction_name},
      {"disposition_id", disposition.id},
      {"disposition", *disposition.caption ? std::string(disposition.caption) : action},
      {"action_id", disposition.action_id},
      {"action", disposition.action_id == 1   ? "Allowed"
                 : disposition.action_id == 2 ? "Denied"
                                              : "Unknown"},
      {"message", fmt::format("{}{}{} mail{}", action, direction.empty() ? "" : " ", direction,
                              reason.empty() ? "" : ": " + reason)},
      {"email", email_object(ecs)},
      {"metadata", metadata_object(ecs, options)},
      {"unmapped", unmapped_object(ecs)},
  };
  if (!reason.empty()) r["status_detail"] = reason;
  if (auto rule = text(ecs, {"rule", "name"}); !rule.empty() && rule != "none")
    r["status_code"] = rule;
  if (auto ip = text(ecs, {"source", "ip"}); !ip.empty()) r["src_endpoint"] = {{"ip", ip}};
  // host profile: the SMTP login for a decision, the analyst for an admin action.
  if (auto user = text(ecs, {"user", "name"}); !user.empty())
    r["actor"] = {{"user", {{"name", user}}}};
  if (auto host = text(ecs, {"observer", "hostname"}); !host.empty())
    r["device"] = {{"hostname", host}, {"type_id", 1}, {"type", "Server"}};
  return r;
}

}  // namespace agentgate::cli
