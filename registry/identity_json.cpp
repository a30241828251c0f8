// Identity to JSON.
#include "registry/identity_json.hpp"

#include "common/timefmt.hpp"
#include "policy/digest.hpp"

namespace agentgate::registry {
namespace {

nlohmann::json capabilities_json(policy::CapabilitySet set) {
  nlohmann::json out = nlohmann::json::array();
  for (auto c : policy::kAllCapabilities)
    if (set.has(c)) out.push_back(policy::to_string(c));
  return out;
}

nlohmann::json targets_json(const std::map<policy::Capability, std::vector<std::string>>& targets) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [cap, patterns] : targets) out[std::string(policy::to_string(cap))] = patterns;
  return out;
}

}  // namespace

nlohmann::json identity_to_json(const policy::Identity& i, policy::Time now) {
  using common::format_iso8601;
  auto actions = capabilities_json(i.actions);
  auto targets = targets_json(i.targets);
  nlohmann::json approvals = nlohmann::json::array();
  for (const auto& a : i.approvals)
    approvals.push_back({{"role", policy::to_string(a.role)},
                         {"actor", a.actor},
                         {"at", format_iso8601(a.at)},
                         {"comment", a.comment}});
  nlohmann::json j = {
      {"id", i.id},
      {"inbox", i.inbox},
      {"status", policy::to_string(policy::effective_status(i, now))},
      {"stored_status", policy::to_string(i.status)},
      {"purpose", i.purpose},
      {"business_owner", i.business_owner},
      {"system_owner", i.system_owner},
      {"requester", i.requester},
      {"ig_reviewer", i.ig_reviewer},
      {"actions", actions},
      {"privileged", i.actions.privileged()},
      {"principals", i.principals},
      {"targets", targets},
      {"accept_from", i.accept_from},
      {"grant_issuers", i.grant_issuers},
      {"expires_at", format_iso8601(i.expires_at)},
      {"revocation_trigger", i.revocation_trigger},
      {"credential_type", i.credential_type},
      {"created_at", format_iso8601(i.created_at)},
      {"updated_at", format_iso8601(i.updated_at)},
      {"round", i.round},
      {"approvals", approvals},
      {"status_reason", i.status_reason},
  };
  j["renewal_expires_at"] = i.renewal_expires_at
                                ? nlohmann::json(format_iso8601(*i.renewal_expires_at))
                                : nlohmann::json();
  return j;
}

nlohmann::json grant_to_json(const policy::Grant& g, policy::Time now) {
  using common::format_iso8601;
  auto actions = capabilities_json(g.actions);
  auto targets = targets_json(g.targets);
  auto opt = [](const std::optional<std::int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  nlohmann::json j = {{"id", g.id},
                      {"identity", g.identity_id},
                      {"task", g.task_id},
                      {"purpose", g.purpose},
                      {"actions", actions},
                      {"targets", targets},
                      {"public_key", policy::base64url_encode(g.public_key)},
                      {"issued_by", g.issued_by},
                      {"issued_at", format_iso8601(g.issued_at)},
                      {"expires_at", format_iso8601(g.expires_at)},
                      {"max_messages", opt(g.max_messages)},
                      {"max_recipients", opt(g.max_recipients)},
                      {"messages_used", g.messages_used},
                      {"recipients_used", g.recipients_used},
                      {"state", policy::to_string(policy::grant_state(g, now))}};
  if (g.revoked) {
    j["revoked_at"] = format_iso8601(g.revoked_at);
    j["revoked_by"] = g.revoked_by;
    j["revoke_reason"] = g.revoke_reason;
  }
  return j;
}

}  // namespace agentgate::registry
