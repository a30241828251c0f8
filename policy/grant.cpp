// Grant issue and revocation rules.
#include "policy/grant.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace agentgate::policy {
namespace {

// Every requested pattern must be covered by one of the identity's patterns for that action.
std::optional<Refusal> check_targets(const Identity& id, const GrantRequest& r,
                                     const AddressRules& rules) {
  for (const auto& [cap, patterns] : r.targets) {
    if (!r.actions.has(cap))
      return refuse(
          "target_without_action",
          fmt::format("targets given for '{}', which the grant does not allow", to_string(cap)));
    auto it = id.targets.find(cap);
    for (const auto& text : patterns) {
      std::string err;
      auto p = AddressPattern::parse(text, rules, &err);
      if (!p) return refuse("pattern_invalid", err);
      bool covered = it != id.targets.end() &&
                     std::any_of(it->second.begin(), it->second.end(), [&](const auto& q) {
                       auto outer = AddressPattern::parse(q, rules, nullptr);
                       return outer && outer->covers(*p);
                     });
      if (!covered)
        return refuse("target_not_allowed",
                      fmt::format("target '{}' for {} is wider than identity {} allows", text,
                                  to_string(cap), id.id));
    }
  }
  return std::nullopt;
}

}  // namespace

GrantState grant_state(const Grant& g, Time now) {
  if (g.revoked) return GrantState::revoked;
  if (now >= g.expires_at) return GrantState::expired;
  if (g.max_messages && g.messages_used >= *g.max_messages) return GrantState::exhausted;
  return GrantState::active;
}

std::string_view to_string(GrantState s) {
  switch (s) {
    case GrantState::active:
      return "active";
    case GrantState::revoked:
      return "revoked";
    case GrantState::expired:
      return "expired";
    case GrantState::exhausted:
      return "exhausted";
  }
  return "unknown";
}

Result<Grant> issue_grant(const Identity& id, const GrantRequest& r, std::string_view actor,
                          const GrantRules& rules, const GovernanceRules& governance,
                          const AgentDirectory& agents, Time now) {
  if (agents.is_agent(actor) || actor == id.id)
    return refuse("agent_actor", fmt::format("'{}' is an agent; an agent never grants itself "
                                             "power",
                                             actor));
  if (!contains(id.grant_issuers, actor))
    return refuse("not_grant_issuer", fmt::format("'{}' is not among the grant issuers of "
                                                  "identity {}",
                                                  actor, id.id));
  if (auto status = effective_status(id, now); status != Status::active)
    return refuse("identity_not_active",
                  fmt::format("identity {} is {}; grants are issued only for active identities",
                              id.id, to_string(status)));
  if (r.task_id.empty() || r.task_id.size() > 200)
    return refuse("task_invalid", "a task id of 1 to 200 characters is required");
  if (r.purpose.empty()) return refuse("purpose_missing", "a purpose is required");
  if (r.ttl <= std::chrono::seconds(0) || r.ttl > rules.max_ttl)
    return refuse("ttl_invalid",
                  fmt::format("ttl must be positive and at most {}s (governance.max_grant_ttl)",
                              rules.max_ttl.count()));
  if (r.public_key.size() != 32) return refuse("key_invalid", "an Ed25519 public key is required");
  for (auto q : {r.max_messages, r.max_recipients})
    if (q && *q < 1) return refuse("quota_invalid", "quotas must be at least 1");
  CapabilitySet acting;
  for (auto c : kAllCapabilities)
    if (c != Capability::receive && id.actions.has(c)) acting.add(c);
  CapabilitySet actions = r.actions.empty() ? acting : r.actions;
  if (actions.empty() || !actions.subset_of(acting))
    return refuse("action_not_allowed",
                  fmt::format("grant actions '{}' must be a non-empty subset of identity {}'s "
                              "acting actions '{}'",
                              actions.to_string(), id.id, acting.to_string()));
  GrantRequest effective = r;
  effective.actions = actions;
  if (auto bad = check_targets(id, effective, governance.address_rules)) return *bad;
  Grant g;
  g.id = r.id;
  g.identity_id = id.id;
  g.task_id = r.task_id;
  g.purpose = r.purpose;
  g.actions = actions;
  for (auto c : kAllCapabilities) {
    if (!actions.has(c)) continue;
    auto asked = r.targets.find(c);
    auto allowed = id.targets.find(c);
    if (asked != r.targets.end())
      g.targets[c] = asked->second;
    else if (allowed != id.targets.end())
      g.targets[c] = allowed->second;
  }
  g.public_key = r.public_key;
  g.issued_by = std::string(actor);
  g.issued_at = now;
  g.expires_at = now + r.ttl;
  g.max_messages = r.max_messages;
  g.max_recipients = r.max_recipients;
  return g;
}

Result<Grant> revoke_grant(const Grant& g, const Identity& id, std::string_view actor,
                           std::string_view reason, const GovernanceRules& governance,
                           const AgentDirectory& agents, Time now) {
  if (agents.is_agent(actor)) return refuse("agent_actor", fmt::format("'{}' is an agent", actor));
  if (g.revoked) return refuse("already_revoked", fmt::format("grant {} is already revoked", g.id));
  bool allowed = actor == g.issued_by || contains(id.grant_issuers, actor) ||
                 actor == id.business_owner || actor == id.system_owner ||
                 actor == id.ig_reviewer || contains(governance.security_officers, actor);
  if (!allowed)
    return refuse("not_authorized",
                  fmt::format("a grant is revoked by its issuers, the identity's owners or IG "
                              "reviewer, or a security officer; '{}' is none of these",
                              actor));
  Grant next = g;
  next.revoked = true;
  next.revoked_at = now;
  next.revoked_by = std::string(actor);
  next.revoke_reason = std::string(reason);
  return next;
}

}  // namespace agentgate::policy
