// Identity to JSON.
#include "registry/identity_json.hpp"

#include "common/timefmt.hpp"

namespace agentgate::registry {

nlohmann::json identity_to_json(const policy::Identity& i, policy::Time now) {
  using common::format_iso8601;
  nlohmann::json actions = nlohmann::json::array();
  for (auto c : policy::kAllCapabilities)
    if (i.actions.has(c)) actions.push_back(policy::to_string(c));
  nlohmann::json targets = nlohmann::json::object();
  for (const auto& [cap, patterns] : i.targets)
    targets[std::string(policy::to_string(cap))] = patterns;
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

}  // namespace agentgate::registry
