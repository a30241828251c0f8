// The identity lifecycle and approval rules of SPEC section 3, as pure functions: an identity,
// an actor and the rules in; the next identity or a Refusal out. No I/O, no clock reads: the
// caller passes `now`, persists the result and writes the audit record in one transaction.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address.hpp"
#include "policy/identity.hpp"
#include "policy/result.hpp"

namespace agentgate::policy {

struct GovernanceRules {
  std::vector<std::string> ig_reviewers;
  std::vector<std::string> security_officers;
  std::string id_pattern = "^[a-z][a-z0-9-]{2,62}$";
  std::chrono::seconds max_identity_lifetime = std::chrono::days(90);
  // An inbox must lie in one of these domains or be listed explicitly.
  std::vector<std::string> agent_domains;
  std::vector<std::string> agent_inboxes;
  AddressRules address_rules;
};

inline bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Answers "is this name an agent?": an identity id, an inbox address or a principal (with or
// without its "sasl:"/"cert:" prefix) of any identity. The registry backs it with indexed lookups.
class AgentDirectory {
 public:
  virtual ~AgentDirectory() = default;
  virtual bool is_agent(std::string_view name) const = 0;
};

// Validates a new request and returns the identity in status `requested`, round 1.
Result<Identity> request_identity(Identity draft, std::string_view actor,
                                  const GovernanceRules& rules, const AgentDirectory& agents,
                                  Time now);

Result<Identity> approve_identity(const Identity& current, ApprovalRole role,
                                  std::string_view actor, std::string_view comment,
                                  const GovernanceRules& rules, const AgentDirectory& agents,
                                  Time now);

Result<Identity> reject_identity(const Identity& current, std::string_view actor,
                                 std::string_view reason, const GovernanceRules& rules,
                                 const AgentDirectory& agents, Time now);

Result<Identity> suspend_identity(const Identity& current, std::string_view actor,
                                  std::string_view reason, const GovernanceRules& rules,
                                  const AgentDirectory& agents, Time now);

Result<Identity> resume_identity(const Identity& current, std::string_view actor,
                                 std::string_view reason, const GovernanceRules& rules,
                                 const AgentDirectory& agents, Time now);

Result<Identity> revoke_identity(const Identity& current, std::string_view actor,
                                 std::string_view reason, const GovernanceRules& rules,
                                 const AgentDirectory& agents, Time now);

// Opens a new approval round. A live identity keeps working until its current expiry while the
// round runs; an expired one goes back to `requested`.
Result<Identity> renew_identity(const Identity& current, Time new_expiry, std::string_view actor,
                                const GovernanceRules& rules, const AgentDirectory& agents,
                                Time now);

// True while a renewal round of a live identity awaits approvals.
inline bool renewal_pending(const Identity& identity) {
  return identity.renewal_expires_at.has_value();
}

}  // namespace agentgate::policy
