// Governance operations on the store: each runs the pure lifecycle rule from policy/, then
// persists the new identity and its audit record in one transaction. A refusal writes nothing;
// a write that cannot be audited does not happen (both share the transaction).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include "policy/governance.hpp"

#include "registry/store.hpp"

namespace agentgate::registry {

struct Actor {
  std::string name;     // --actor
  std::string os_user;  // who ran the command
};

class Registry {
 public:
  Registry(Store& store, policy::GovernanceRules rules) : store_(store), rules_(std::move(rules)) {}

  policy::Result<policy::Identity> request(policy::Identity draft, const Actor& actor);
  policy::Result<policy::Identity> approve(std::string_view id, policy::ApprovalRole role,
                                           const Actor& actor, std::string_view comment);
  policy::Result<policy::Identity> reject(std::string_view id, const Actor& actor,
                                          std::string_view reason);
  policy::Result<policy::Identity> suspend(std::string_view id, const Actor& actor,
                                           std::string_view reason);
  policy::Result<policy::Identity> resume(std::string_view id, const Actor& actor,
                                          std::string_view reason);
  policy::Result<policy::Identity> revoke(std::string_view id, const Actor& actor,
                                          std::string_view reason);
  policy::Result<policy::Identity> renew(std::string_view id, policy::Time new_expiry,
                                         const Actor& actor);

  policy::Result<policy::Grant> issue_grant(std::string_view identity_id,
                                            const policy::GrantRequest& request,
                                            const policy::GrantRules& rules, const Actor& actor);
  policy::Result<policy::Grant> revoke_grant(std::string_view grant_id, const Actor& actor,
                                             std::string_view reason);

  const policy::GovernanceRules& rules() const { return rules_; }

 private:
  using Rule = std::function<policy::Result<policy::Identity>(
      const policy::Identity&, const policy::AgentDirectory&, policy::Time)>;
  // Loads the identity, applies rule, and on success stores it with an audit record.
  policy::Result<policy::Identity> transition(std::string_view id, const Actor& actor,
                                              std::string_view action, const Rule& rule,
                                              nlohmann::json details);

  Store& store_;
  policy::GovernanceRules rules_;
};

}  // namespace agentgate::registry
