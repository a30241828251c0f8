// Lifecycle transitions and approval rules. Every refusal names its rule and the value that
// broke it, because an IG team reads these messages to learn the model.
#include "policy/governance.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include <fmt/format.h>

namespace agentgate::policy {
namespace {

bool plausible_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 &&
         std::none_of(name.begin(), name.end(),
                      [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

// Rules every actor of every write must pass.
std::optional<Refusal> check_actor(std::string_view actor, const AgentDirectory& agents) {
  if (!plausible_name(actor))
    return refuse("actor_invalid", fmt::format("actor '{}' is not a valid name", actor));
  if (agents.is_agent(actor))
    return refuse("agent_actor",
                  fmt::format("'{}' is an agent identity, inbox or principal; an agent never "
                              "requests, approves or changes identities",
                              actor));
  return std::nullopt;
}

bool has_approval(const Identity& id, ApprovalRole role) {
  return std::any_of(id.approvals.begin(), id.approvals.end(),
                     [&](const Approval& a) { return a.role == role; });
}

const Approval* find_approval(const Identity& id, ApprovalRole role) {
  for (const auto& a : id.approvals)
    if (a.role == role) return &a;
  return nullptr;
}

std::optional<Refusal> check_expiry(Time expiry, const GovernanceRules& rules, Time now) {
  if (expiry <= now) return refuse("expiry_in_past", "expires_at must lie in the future");
  if (expiry - now > rules.max_identity_lifetime)
    return refuse(
        "expiry_too_far",
        fmt::format(
            "expires_at may be at most {} days ahead "
            "(governance.max_identity_lifetime)",
            std::chrono::duration_cast<std::chrono::days>(rules.max_identity_lifetime).count()));
  return std::nullopt;
}

// The requester of a round may not be one of its approvers: no one approves their own request.
std::optional<Refusal> check_requester(const Identity& id, std::string_view actor) {
  if (actor == id.business_owner)
    return refuse("self_approval",
                  fmt::format("'{}' is the business owner and cannot also request the identity: "
                              "no one approves their own request",
                              actor));
  if (id.actions.privileged() && actor == id.system_owner)
    return refuse("self_approval",
                  fmt::format("'{}' is the system owner and cannot also request a privileged "
                              "identity: no one approves their own request",
                              actor));
  return std::nullopt;
}

std::optional<Refusal> validate_fields(const Identity& d, const GovernanceRules& rules,
                                       const AgentDirectory& agents) {
  if (!std::regex_match(d.id, std::regex(rules.id_pattern)))
    return refuse("id_invalid", fmt::format("identity id '{}' does not match the naming rule {} "
                                            "(governance.id_pattern)",
                                            d.id, rules.id_pattern));
  if (!is_valid_address(d.inbox))
    return refuse("inbox_invalid", fmt::format("inbox '{}' is not a mail address", d.inbox));
  auto domain = domain_of(d.inbox);
  bool in_agent_domain = std::any_of(rules.agent_domains.begin(), rules.agent_domains.end(),
                                     [&](const std::string& ad) { return ad == domain; });
  bool listed = std::any_of(
      rules.agent_inboxes.begin(), rules.agent_inboxes.end(),
      [&](const std::string& a) { return normalize_address(a, rules.address_rules) == d.inbox; });
  if (!in_agent_domain && !listed)
    return refuse("inbox_not_agent",
                  fmt::format("inbox '{}' is neither in policy.agent_domains nor listed in "
                              "policy.agent_inboxes",
                              d.inbox));
  if (d.purpose.empty()) return refuse("purpose_missing", "a purpose is required");
  if (d.revocation_trigger.empty())
    return refuse("revocation_trigger_missing", "a revocation trigger is required");
  if (d.actions.empty()) return refuse("actions_missing", "at least one action is required");
  for (const auto* who : {&d.business_owner, &d.system_owner}) {
    if (!plausible_name(*who))
      return refuse("owner_invalid", fmt::format("owner '{}' is not a valid name", *who));
    if (agents.is_agent(*who))
      return refuse("agent_owner", fmt::format("owner '{}' is an agent; owners are humans", *who));
  }
  if (d.actions.privileged() && d.business_owner == d.system_owner)
    return refuse("owners_not_distinct",
                  fmt::format("'{}' cannot be both business owner and system owner of a "
                              "privileged identity: the approvers must be distinct people",
                              d.business_owner));
  if (d.actions.privileged() && d.principals.empty())
    return refuse("principal_missing",
                  "an identity that can act needs at least one principal (sasl:LOGIN or "
                  "cert:SUBJECT) binding it to a workload");
  for (const auto& p : d.principals) {
    if (!(p.starts_with("sasl:") || p.starts_with("cert:")) || p.size() < 6 ||
        p.find('\n') != p.npos)
      return refuse("principal_invalid",
                    fmt::format("principal '{}' must be sasl:LOGIN or cert:SUBJECT", p));
  }
  for (const auto& [cap, patterns] : d.targets) {
    if (!d.actions.has(cap))
      return refuse("target_without_action",
                    fmt::format("targets given for '{}', which is not among the identity's actions",
                                to_string(cap)));
    if (cap == Capability::receive)
      return refuse("target_invalid", "receive takes no targets; use --accept-from");
    for (const auto& p : patterns) {
      std::string err;
      if (!AddressPattern::parse(p, rules.address_rules, &err))
        return refuse("pattern_invalid", err);
    }
  }
  for (const auto& p : d.accept_from) {
    std::string err;
    if (!AddressPattern::parse(p, rules.address_rules, &err)) return refuse("pattern_invalid", err);
  }
  for (const auto& g : d.grant_issuers) {
    if (!plausible_name(g))
      return refuse("grant_issuer_invalid",
                    fmt::format("grant issuer '{}' is not a valid name", g));
    if (agents.is_agent(g) || g == d.id)
      return refuse(
          "agent_grant_issuer",
          fmt::format("grant issuer '{}' is an agent; an agent never grants itself power", g));
  }
  return std::nullopt;
}

bool is_owner(const Identity& id, std::string_view actor) {
  return actor == id.business_owner || actor == id.system_owner;
}

bool is_ig_reviewer_of(const Identity& id, std::string_view actor, const GovernanceRules& rules) {
  if (!id.ig_reviewer.empty()) return actor == id.ig_reviewer;
  return contains(rules.ig_reviewers, actor);
}

// The names of the identity being requested are agent names too: it is one once stored.
class DraftDirectory final : public AgentDirectory {
 public:
  DraftDirectory(const Identity& draft, const AgentDirectory& agents)
      : draft_(draft), agents_(agents) {}
  bool is_agent(std::string_view name) const override {
    if (agents_.is_agent(name) || name == draft_.id) return true;
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string inbox = draft_.inbox;
    std::transform(inbox.begin(), inbox.end(), inbox.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == inbox) return true;
    return std::any_of(draft_.principals.begin(), draft_.principals.end(),
                       [&](const std::string& p) {
                         return p == name || p == fmt::format("sasl:{}", name) ||
                                p == fmt::format("cert:{}", name);
                       });
  }

 private:
  const Identity& draft_;
  const AgentDirectory& agents_;
};

Identity touched(Identity next, Time now) {
  next.updated_at = now;
  return next;
}

}  // namespace

Result<Identity> request_identity(Identity d, std::string_view actor, const GovernanceRules& rules,
                                  const AgentDirectory& directory, Time now) {
  DraftDirectory agents(d, directory);
  if (auto r = check_actor(actor, agents)) return *r;
  if (auto r = validate_fields(d, rules, agents)) return *r;
  if (auto r = check_requester(d, actor)) return *r;
  if (auto r = check_expiry(d.expires_at, rules, now)) return *r;
  d.requester = std::string(actor);
  d.ig_reviewer.clear();
  d.status = Status::requested;
  d.round = 1;
  d.approvals.clear();
  d.renewal_expires_at.reset();
  d.created_at = now;
  d.updated_at = now;
  if (d.credential_type.empty()) d.credential_type = "smtp-auth";
  return d;
}

Result<Identity> approve_identity(const Identity& cur, ApprovalRole role, std::string_view actor,
                                  std::string_view comment, const GovernanceRules& rules,
                                  const AgentDirectory& agents, Time now) {
  if (auto r = check_actor(actor, agents)) return *r;
  bool renewing = renewal_pending(cur);
  bool pending = cur.status == Status::requested || cur.status == Status::owner_approved;
  if (!renewing && !pending)
    return refuse("not_pending", fmt::format("identity '{}' is {}; only a pending request or "
                                             "renewal can be approved",
                                             cur.id, to_string(effective_status(cur, now))));
  if (has_approval(cur, role))
    return refuse("already_approved",
                  fmt::format("the {} approval of this round was already given by '{}'",
                              to_string(role), find_approval(cur, role)->actor));
  if (actor == cur.requester)
    return refuse("self_approval", fmt::format("'{}' requested this round and cannot approve it: "
                                               "no one approves their own request",
                                               actor));
  switch (role) {
    case ApprovalRole::owner:
      if (actor != cur.business_owner)
        return refuse("wrong_owner", fmt::format("the owner approval must come from the business "
                                                 "owner '{}'; '{}' is not",
                                                 cur.business_owner, actor));
      break;
    case ApprovalRole::ig:
      if (!contains(rules.ig_reviewers, actor))
        return refuse("not_ig_reviewer", fmt::format("IG approval must come from a member of "
                                                     "governance.ig_reviewers; '{}' is not",
                                                     actor));
      if (is_owner(cur, actor))
        return refuse("approvers_not_distinct",
                      fmt::format("'{}' is an owner of this identity and cannot also give the IG "
                                  "approval: the approvers must be distinct people",
                                  actor));
      if (!has_approval(cur, ApprovalRole::owner))
        return refuse("owner_approval_first",
                      "the IG review comes after the business owner's approval");
      break;
    case ApprovalRole::system:
      if (!cur.actions.privileged())
        return refuse("system_approval_not_needed",
                      "a receive-only identity needs no system-owner approval");
      if (actor != cur.system_owner)
        return refuse("wrong_owner", fmt::format("the system approval must come from the system "
                                                 "owner '{}'; '{}' is not",
                                                 cur.system_owner, actor));
      break;
  }
  Identity next = cur;
  next.approvals.push_back({role, std::string(actor), now, std::string(comment)});
  if (role == ApprovalRole::ig) next.ig_reviewer = std::string(actor);
  bool complete = has_approval(next, ApprovalRole::owner) && has_approval(next, ApprovalRole::ig) &&
                  (!next.actions.privileged() || has_approval(next, ApprovalRole::system));
  if (renewing) {
    if (complete) {
      next.expires_at = *next.renewal_expires_at;
      next.renewal_expires_at.reset();
    }
  } else if (complete) {
    next.status = Status::active;
  } else if (has_approval(next, ApprovalRole::owner)) {
    next.status = Status::owner_approved;
  }
  return touched(std::move(next), now);
}

Result<Identity> reject_identity(const Identity& cur, std::string_view actor,
                                 std::string_view reason, const GovernanceRules& rules,
                                 const AgentDirectory& agents, Time now) {
  if (auto r = check_actor(actor, agents)) return *r;
  bool renewing = renewal_pending(cur);
  if (!renewing && cur.status != Status::requested && cur.status != Status::owner_approved)
    return refuse("not_pending", fmt::format("identity '{}' is {}; only a pending request or "
                                             "renewal can be rejected",
                                             cur.id, to_string(effective_status(cur, now))));
  if (!is_owner(cur, actor) && !contains(rules.ig_reviewers, actor) &&
      !contains(rules.security_officers, actor))
    return refuse("not_authorized",
                  fmt::format("a request can be rejected by its owners, an IG reviewer or a "
                              "security officer; '{}' is none of these",
                              actor));
  Identity next = cur;
  next.status_reason = std::string(reason);
  if (renewing) {
    next.renewal_expires_at.reset();
    next.approvals.clear();
  } else {
    next.status = Status::rejected;
  }
  return touched(std::move(next), now);
}

Result<Identity> suspend_identity(const Identity& cur, std::string_view actor,
                                  std::string_view reason, const GovernanceRules& rules,
                                  const AgentDirectory& agents, Time now) {
  if (auto r = check_actor(actor, agents)) return *r;
  if (effective_status(cur, now) != Status::active)
    return refuse("not_active", fmt::format("only an active identity can be suspended; '{}' is {}",
                                            cur.id, to_string(effective_status(cur, now))));
  if (!is_owner(cur, actor) && !is_ig_reviewer_of(cur, actor, rules) &&
      !contains(rules.security_officers, actor))
    return refuse("not_authorized",
                  fmt::format("suspension is for an owner, the IG reviewer or a security "
                              "officer; '{}' is none of these",
                              actor));
  Identity next = cur;
  next.status = Status::suspended;
  next.status_reason = std::string(reason);
  return touched(std::move(next), now);
}

Result<Identity> resume_identity(const Identity& cur, std::string_view actor,
                                 std::string_view reason, const GovernanceRules& rules,
                                 const AgentDirectory& agents, Time now) {
  if (auto r = check_actor(actor, agents)) return *r;
  if (cur.status != Status::suspended)
    return refuse("not_suspended",
                  fmt::format("only a suspended identity can be resumed; '{}' is {}", cur.id,
                              to_string(effective_status(cur, now))));
  // Owners may suspend but not lift a suspension: the party that benefits from the agent does
  // not get to overrule a security stop on it.
  if (!is_ig_reviewer_of(cur, actor, rules) && !contains(rules.security_officers, actor))
    return refuse("not_authorized",
                  fmt::format("a suspension is lifted by the IG reviewer or a security officer; "
                              "'{}' is neither",
                              actor));
  Identity next = cur;
  next.status = Status::active;
  next.status_reason = std::string(reason);
  return touched(std::move(next), now);
}

Result<Identity> revoke_identity(const Identity& cur, std::string_view actor,
                                 std::string_view reason, const GovernanceRules& rules,
                                 const AgentDirectory& agents, Time now) {
  if (auto r = check_actor(actor, agents)) return *r;
  if (is_terminal(cur.status))
    return refuse("terminal",
                  fmt::format("identity '{}' is already {}", cur.id, to_string(cur.status)));
  if (!is_owner(cur, actor) && !is_ig_reviewer_of(cur, actor, rules) &&
      !contains(rules.security_officers, actor))
    return refuse("not_authorized",
                  fmt::format("revocation is for an owner, the IG reviewer or a security officer; "
                              "'{}' is none of these",
                              actor));
  Identity next = cur;
  next.status = Status::revoked;
  next.status_reason = std::string(reason);
  next.renewal_expires_at.reset();
  return touched(std::move(next), now);
}

Result<Identity> renew_identity(const Identity& cur, Time new_expiry, std::string_view actor,
                                const GovernanceRules& rules, const AgentDirectory& agents,
                                Time now) {
  if (auto r = check_actor(actor, agents)) return *r;
  auto status = effective_status(cur, now);
  if (status != Status::active && status != Status::suspended && status != Status::expired)
    return refuse("not_renewable", fmt::format("only an active, suspended or expired identity can "
                                               "be renewed; '{}' is {}",
                                               cur.id, to_string(status)));
  if (renewal_pending(cur))
    return refuse("renewal_pending", "a renewal round is already waiting for approvals");
  if (status == Status::expired && cur.status == Status::suspended)
    return refuse("suspended",
                  fmt::format("'{}' expired while suspended; the IG reviewer or a security "
                              "officer must lift the suspension before it can be renewed",
                              cur.id));

  if (auto r = check_requester(cur, actor)) return *r;
  if (actor != cur.requester && !contains(rules.ig_reviewers, actor) &&
      !contains(rules.security_officers, actor))
    return refuse("not_authorized",
                  fmt::format("a renewal is requested by the identity's requester of record "
                              "('{}'), an IG reviewer or a security officer; '{}' is none of "
                              "these",
                              cur.requester, actor));
  if (auto r = check_expiry(new_expiry, rules, now)) return *r;
  Identity next = cur;
  next.round = cur.round + 1;
  next.approvals.clear();
  next.requester = std::string(actor);
  if (status == Status::expired) {
    next.status = Status::requested;
    next.expires_at = new_expiry;
    next.ig_reviewer.clear();
  } else {
    next.renewal_expires_at = new_expiry;
  }
  return touched(std::move(next), now);
}

}  // namespace agentgate::policy
