// Governance operations: load, apply the pure rule, persist with audit.
#include "registry/registry.hpp"

#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "registry/audit.hpp"
#include "registry/identity_json.hpp"

namespace agentgate::registry {
namespace {

using policy::Identity;
using policy::Refusal;
using policy::Result;

class TxDirectory final : public policy::AgentDirectory {
 public:
  explicit TxDirectory(StoreTx& tx) : tx_(tx) {}
  bool is_agent(std::string_view name) const override { return tx_.is_agent_name(name); }

 private:
  StoreTx& tx_;
};

// Thrown inside a write transaction to roll it back and carry the refusal out.
struct Refused {
  Refusal refusal;
};

}  // namespace

Result<Identity> Registry::request(Identity draft, const Actor& actor) {
  draft.inbox = policy::normalize_address(draft.inbox, rules_.address_rules);
  try {
    Identity stored;
    store_.write([&](StoreTx& tx) {
      TxDirectory agents(tx);
      auto now = common::now_seconds();
      if (tx.find_identity(draft.id))
        throw Refused{{"id_taken", fmt::format("identity id '{}' already exists", draft.id)}};
      if (auto other = tx.find_live_by_inbox(draft.inbox))
        throw Refused{{"inbox_taken", fmt::format("inbox '{}' already belongs to identity '{}'",
                                                  draft.inbox, other->id)}};
      for (const auto& p : draft.principals)
        if (auto other = tx.live_identity_for_principal(p))
          throw Refused{{"principal_taken",
                         fmt::format("principal '{}' is already bound to identity '{}'; one "
                                     "workload, one identity",
                                     p, *other)}};
      auto result = policy::request_identity(std::move(draft), actor.name, rules_, agents, now);
      if (!result.ok()) throw Refused{result.refusal()};
      stored = result.value();
      tx.put_identity(stored);
      append_audit(tx, {actor.name, actor.os_user, "identity.request", stored.id,
                        identity_to_json(stored, now)});
    });
    return stored;
  } catch (const Refused& r) {
    return r.refusal;
  }
}

Result<policy::Grant> Registry::issue_grant(std::string_view identity_id,
                                            const policy::GrantRequest& request,
                                            const policy::GrantRules& grant_rules,
                                            const Actor& actor) {
  try {
    policy::Grant stored;
    store_.write([&](StoreTx& tx) {
      auto identity = tx.find_identity(identity_id);
      if (!identity) throw Refused{{"not_found", fmt::format("no identity '{}'", identity_id)}};
      TxDirectory agents(tx);
      auto now = common::now_seconds();
      auto result =
          policy::issue_grant(*identity, request, actor.name, grant_rules, rules_, agents, now);
      if (!result.ok()) throw Refused{result.refusal()};
      stored = result.value();
      tx.insert_grant(stored);
      append_audit(
          tx, {actor.name, actor.os_user, "grant.issue", stored.id, grant_to_json(stored, now)});
    });
    return stored;
  } catch (const Refused& r) {
    return r.refusal;
  }
}

Result<policy::Grant> Registry::revoke_grant(std::string_view grant_id, const Actor& actor,
                                             std::string_view reason) {
  try {
    policy::Grant stored;
    store_.write([&](StoreTx& tx) {
      auto grant = tx.find_grant(grant_id);
      if (!grant) throw Refused{{"not_found", fmt::format("no grant '{}'", grant_id)}};
      auto identity = tx.find_identity(grant->identity_id);
      if (!identity) throw StoreError("grant " + grant->id + " names a missing identity");
      TxDirectory agents(tx);
      auto now = common::now_seconds();
      auto result =
          policy::revoke_grant(*grant, *identity, actor.name, reason, rules_, agents, now);
      if (!result.ok()) throw Refused{result.refusal()};
      stored = result.value();
      tx.mark_grant_revoked(stored);
      append_audit(
          tx, {actor.name,
               actor.os_user,
               "grant.revoke",
               stored.id,
               {{"identity", stored.identity_id}, {"task", stored.task_id}, {"reason", reason}}});
    });
    return stored;
  } catch (const Refused& r) {
    return r.refusal;
  }
}

Result<Identity> Registry::transition(std::string_view id, const Actor& actor,
                                      std::string_view action, const Rule& rule,
                                      nlohmann::json details) {
  try {
    Identity stored;
    store_.write([&](StoreTx& tx) {
      auto current = tx.find_identity(id);
      if (!current) throw Refused{{"not_found", fmt::format("no identity '{}'", id)}};
      TxDirectory agents(tx);
      auto now = common::now_seconds();
      auto result = rule(*current, agents, now);
      if (!result.ok()) throw Refused{result.refusal()};
      stored = result.value();
      tx.put_identity(stored);
      details["from"] = policy::to_string(policy::effective_status(*current, now));
      details["to"] = policy::to_string(policy::effective_status(stored, now));
      details["expires_at"] = common::format_iso8601(stored.expires_at);
      details["round"] = stored.round;
      append_audit(tx, {actor.name, actor.os_user, std::string(action), stored.id, details});
    });
    return stored;
  } catch (const Refused& r) {
    return r.refusal;
  }
}

Result<Identity> Registry::approve(std::string_view id, policy::ApprovalRole role,
                                   const Actor& actor, std::string_view comment) {
  return transition(
      id, actor, "identity.approve",
      [&](const Identity& cur, const policy::AgentDirectory& agents, policy::Time now) {
        return policy::approve_identity(cur, role, actor.name, comment, rules_, agents, now);
      },
      {{"role", policy::to_string(role)}, {"comment", comment}});
}

Result<Identity> Registry::reject(std::string_view id, const Actor& actor,
                                  std::string_view reason) {
  return transition(
      id, actor, "identity.reject",
      [&](const Identity& cur, const policy::AgentDirectory& agents, policy::Time now) {
        return policy::reject_identity(cur, actor.name, reason, rules_, agents, now);
      },
      {{"reason", reason}});
}

Result<Identity> Registry::suspend(std::string_view id, const Actor& actor,
                                   std::string_view reason) {
  return transition(
      id, actor, "identity.suspend",
      [&](const Identity& cur, const policy::AgentDirectory& agents, policy::Time now) {
        return policy::suspend_identity(cur, actor.name, reason, rules_, agents, now);
      },
      {{"reason", reason}});
}

Result<Identity> Registry::resume(std::string_view id, const Actor& actor,
                                  std::string_view reason) {
  return transition(
      id, actor, "identity.resume",
      [&](const Identity& cur, const policy::AgentDirectory& agents, policy::Time now) {
        return policy::resume_identity(cur, actor.name, reason, rules_, agents, now);
      },
      {{"reason", reason}});
}

Result<Identity> Registry::revoke(std::string_view id, const Actor& actor,
                                  std::string_view reason) {
  return transition(
      id, actor, "identity.revoke",
      [&](const Identity& cur, const policy::AgentDirectory& agents, policy::Time now) {
        return policy::revoke_identity(cur, actor.name, reason, rules_, agents, now);
      },
      {{"reason", reason}});
}

Result<Identity> Registry::renew(std::string_view id, policy::Time new_expiry, const Actor& actor) {
  return transition(
      id, actor, "identity.renew",
      [&](const Identity& cur, const policy::AgentDirectory& agents, policy::Time now) {
        return policy::renew_identity(cur, new_expiry, actor.name, rules_, agents, now);
      },
      {{"requested_expires_at", common::format_iso8601(new_expiry)}});
}

}  // namespace agentgate::registry
