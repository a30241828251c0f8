// Just-in-time grants (SPEC section 3): short-lived authority for one task, a subset of an
// identity's actions and targets, bound to an Ed25519 public key whose private half stays with
// the agent. Plain data and pure rules; the registry persists, the gateway enforces.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/governance.hpp"
#include "policy/identity.hpp"
#include "policy/result.hpp"

namespace agentgate::policy {

struct Grant {
  std::string id;  // "g-" + 20 hex digits; the proof's kid
  std::string identity_id;
  std::string task_id;
  std::string purpose;
  CapabilitySet actions;
  std::map<Capability, std::vector<std::string>> targets;
  std::string public_key;  // raw 32-byte Ed25519 key
  std::string issued_by;
  Time issued_at{};
  Time expires_at{};
  std::optional<std::int64_t> max_messages;
  std::optional<std::int64_t> max_recipients;
  bool revoked = false;
  Time revoked_at{};
  std::string revoked_by;
  std::string revoke_reason;
  // Session state, kept in the store so every gateway sharing it sees the same counts.
  std::int64_t messages_used = 0;
  std::int64_t recipients_used = 0;
};

enum class GrantState { active, revoked, expired, exhausted };
GrantState grant_state(const Grant& g, Time now);  // valid while now < expires_at
std::string_view to_string(GrantState s);

struct GrantRules {
  std::chrono::seconds max_ttl = std::chrono::hours(1);
};

// What the issuer asked for; empty actions/targets mean "all the identity allows".
struct GrantRequest {
  std::string id;
  std::string task_id;
  std::string purpose;
  std::chrono::seconds ttl{0};
  CapabilitySet actions;
  std::map<Capability, std::vector<std::string>> targets;
  std::optional<std::int64_t> max_messages;
  std::optional<std::int64_t> max_recipients;
  std::string public_key;
};

Result<Grant> issue_grant(const Identity& identity, const GrantRequest& request,
                          std::string_view actor, const GrantRules& rules,
                          const GovernanceRules& governance, const AgentDirectory& agents,
                          Time now);

Result<Grant> revoke_grant(const Grant& grant, const Identity& identity, std::string_view actor,
                           std::string_view reason, const GovernanceRules& governance,
                           const AgentDirectory& agents, Time now);

}  // namespace agentgate::policy
