// The decision rules of SPEC section 5. Each check appends a Finding; the verdict's action is
// the most severe action among the findings' configured actions.
#include "policy/engine.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "policy/proof_check.hpp"

namespace agentgate::policy {
namespace {

struct Finding {
  Reason reason;
  std::string detail;
};

bool governed(std::string_view address, const Lookup& l, const PolicySettings& s) {
  return s.in_agent_domain(address) || s.listed_inbox(address) || l.identity != nullptr;
}

std::optional<Finding> sender_state(const Identity& id, Time now) {
  auto status = effective_status(id, now);
  auto said = [&](Reason r) {
    return Finding{r, fmt::format("identity {} is {}", id.id, to_string(status))};
  };
  switch (status) {
    case Status::active:
      return std::nullopt;
    case Status::requested:
    case Status::owner_approved:
      return said(Reason::identity_pending);
    case Status::suspended:
      return said(Reason::identity_suspended);
    case Status::revoked:
      return said(Reason::identity_revoked);
    case Status::expired:
      return said(Reason::identity_expired);
    case Status::rejected:
      return said(Reason::identity_rejected);
  }
  return said(Reason::internal_error);
}

bool principal_bound(const Identity& id, const MessageFacts& f) {
  return std::any_of(id.principals.begin(), id.principals.end(), [&](const std::string& p) {
    if (!f.auth_login.empty() && p.starts_with("sasl:") && p.substr(5) == f.auth_login) return true;
    return !f.cert_subject.empty() && p.starts_with("cert:") && p.substr(5) == f.cert_subject;
  });
}

bool matches_any(const std::vector<std::string>& patterns, std::string_view address,
                 const AddressRules& rules) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& text) {
    auto p = AddressPattern::parse(text, rules, nullptr);
    return p && p->matches(address);
  });
}

bool target_allowed(const Identity& id, Capability act, std::string_view rcpt,
                    const AddressRules& rules) {
  auto it = id.targets.find(act);
  return it != id.targets.end() && matches_any(it->second, rcpt, rules);
}

bool any_target_allowed(const Identity& id, std::string_view rcpt, const AddressRules& rules) {
  return std::any_of(id.targets.begin(), id.targets.end(), [&](const auto& entry) {
    return id.actions.has(entry.first) && matches_any(entry.second, rcpt, rules);
  });
}

// Until the proof names the action, a message answering another is a reply, else a send.
Capability inferred_action(const MessageFacts& f) {
  return f.in_reply_to.empty() ? Capability::send : Capability::reply;
}

std::optional<Finding> inbox_state(const Lookup& l, std::string_view rcpt, Time now,
                                   Trace* t = nullptr) {
  if (!note(t, "inbox.registry", l.status == LookupStatus::found, [&] {
        return fmt::format("{}: {}", rcpt,
                           l.status == LookupStatus::unavailable ? "registry unavailable"
                           : l.identity                          ? "identity " + l.identity->id
                                                                 : "no registered identity");
      }))
    return l.status == LookupStatus::unavailable
               ? Finding{Reason::store_unavailable, "registry unavailable"}
               : Finding{Reason::unknown_agent_recipient,
                         fmt::format("{} is not a registered agent inbox", rcpt)};
  const auto& id = *l.identity;
  auto status = effective_status(id, now);
  if (!note(t, "inbox.status", status == Status::active,
            [&] { return fmt::format("{} is {}", id.id, to_string(status)); }))
    return Finding{Reason::inbox_inactive,
                   fmt::format("inbox {} ({}) is {}", rcpt, id.id, to_string(status))};
  if (!note(t, "inbox.receive", id.actions.has(Capability::receive),
            [&] { return fmt::format("{} may {}", id.id, id.actions.to_string()); }))
    return Finding{Reason::inbox_receive_not_permitted,
                   fmt::format("identity {} may not receive mail", id.id)};
  return std::nullopt;
}

void check_outbound(const MessageFacts& f, const Identity& id, const IdentityLookup& registry,
                    const PolicySettings& s, Verdict& v, std::vector<Finding>& out, Trace* t) {
  auto state = sender_state(id, f.now);
  note(t, "sender.status", !state,
       [&] { return fmt::format("{} is {}", id.id, to_string(effective_status(id, f.now))); });
  if (state) {
    out.push_back(*state);
    return;  // nothing else matters for an identity that may not send at all
  }
  auto login = f.auth_login.empty() ? f.cert_subject : f.auth_login;
  if (!note(t, "sender.principal", principal_bound(id, f), [&] {
        return fmt::format("login '{}' vs principals {}", login, fmt::join(id.principals, ","));
      }))
    out.push_back({Reason::principal_mismatch,
                   f.auth_login.empty() && f.cert_subject.empty()
                       ? fmt::format("identity {} must authenticate (SMTP AUTH or client "
                                     "certificate)",
                                     id.id)
                       : fmt::format("login '{}' is not a principal of identity {}",
                                     f.auth_login.empty() ? f.cert_subject : f.auth_login, id.id)});
  bool from_ok = f.from_addresses.size() == 1 && f.from_addresses.front() == f.mail_from;
  if (!note(t, "header.from", from_ok, [&] {
        return fmt::format("From {} vs envelope sender {}", fmt::join(f.from_addresses, ","),
                           f.mail_from);
      }))
    out.push_back(
        {Reason::header_from_mismatch, fmt::format("header From must be exactly {}", f.mail_from)});
  auto act = inferred_action(f);
  // A proof is checked when required, and always when one is present: an invalid proof is a
  // claim that failed, never something to ignore. Its failure is reported after the checks
  // that need no proof, which run on the inferred action.
  std::optional<Finding> proof_failure;
  if (s.require_proof || !f.agent_proofs.empty()) {
    auto proof = check_proof(f, id, registry, s, t);
    if (proof.failure) {
      proof_failure = Finding{proof.failure->reason, proof.failure->detail};
    } else {
      const auto& ctx = proof.context;
      v.grant = ctx.grant_id;
      v.task = ctx.task_id;
      v.jti = ctx.jti;
      v.proof_digest = ctx.digest;
      v.proof_expires_at = ctx.expires_at;
      v.proven_recipients = f.recipients.size();
      v.proven_action = ctx.action;
      v.in_reply_to = ctx.in_reply_to;
      act = ctx.action;
    }
  }
  if (!note(t, "sender.action", id.actions.has(act), [&] {
        return fmt::format("{} ({}) vs identity actions {}", to_string(act),
                           proof_failure || v.jti.empty() ? "inferred" : "proven",
                           id.actions.to_string());
      })) {
    out.push_back({Reason::action_not_permitted,
                   fmt::format("identity {} may not {}", id.id, to_string(act))});
  } else {
    for (const auto& rcpt : f.recipients)
      if (!note(t, "sender.target", target_allowed(id, act, rcpt, s.address_rules), [&] {
            auto it = id.targets.find(act);
            return fmt::format(
                "{} against the identity's {} targets {}", rcpt, to_string(act),
                it == id.targets.end() ? "(none)" : fmt::format("{}", fmt::join(it->second, ",")));
          })) {
        out.push_back(
            {Reason::recipient_not_permitted,
             fmt::format("{} is not a {} target of identity {}", rcpt, to_string(act), id.id)});
        break;
      }
  }
  if (proof_failure) out.push_back(*proof_failure);
}

Action most_severe(const std::vector<Finding>& findings, const PolicySettings& s) {
  Action a = Action::accept;
  for (const auto& f : findings) a = std::max(a, s.action_for(f.reason));
  return a;
}

}  // namespace

RecipientCheck check_recipient(const MessageFacts& f, std::string_view rcpt,
                               const IdentityLookup& registry, const PolicySettings& s) {
  RecipientCheck r;
  auto conclude = [&](const Finding& finding, std::string identity, unsigned direction) {
    r.direction = direction;
    r.reason = finding.reason;
    r.detail = finding.detail;
    r.identity = std::move(identity);
    r.action = s.action_for(finding.reason);
    return r;
  };
  auto sender = registry.by_inbox(f.mail_from);
  if (!f.mail_from.empty() && governed(f.mail_from, sender, s)) {
    if (sender.status == LookupStatus::unavailable)
      return conclude({Reason::store_unavailable, "registry unavailable"}, "", kOutbound);
    const auto* id = sender.identity;
    if (id && !sender_state(*id, f.now)) {
      if (!id->actions.privileged())  // receive-only: sending at all is the problem
        return conclude(
            {Reason::action_not_permitted, fmt::format("identity {} may not send mail", id->id)},
            id->id, kOutbound);
      if (!any_target_allowed(*id, rcpt, s.address_rules))
        return conclude({Reason::recipient_not_permitted,
                         fmt::format("{} is not a target of identity {}", rcpt, id->id)},
                        id->id, kOutbound);
    }
  }
  auto inbox = registry.by_inbox(rcpt);
  if (governed(rcpt, inbox, s))
    if (auto finding = inbox_state(inbox, rcpt, f.now))
      return conclude(*finding, inbox.identity ? inbox.identity->id : "", kInbound);
  return r;
}

Verdict evaluate(const MessageFacts& f, const IdentityLookup& registry, const PolicySettings& s,
                 Trace* t) {
  Verdict v;
  std::vector<Finding> findings;
  auto sender = registry.by_inbox(f.mail_from);
  bool outbound = !f.mail_from.empty() && governed(f.mail_from, sender, s);
  note(t, "sender.governed", true, [&] {
    return fmt::format("{} is {}", f.mail_from.empty() ? "<>" : f.mail_from,
                       outbound ? "an agent address: outbound checks apply"
                                : "not an agent address: no outbound checks");
  });
  if (outbound) {
    v.directions |= kOutbound;
    note(t, "sender.registry", sender.status == LookupStatus::found, [&] {
      return sender.status == LookupStatus::unavailable ? std::string("registry unavailable")
             : sender.identity                          ? "identity " + sender.identity->id
                               : fmt::format("no identity owns {}", f.mail_from);
    });
    if (sender.status == LookupStatus::unavailable) {
      findings.push_back({Reason::store_unavailable, "registry unavailable"});
    } else if (sender.status == LookupStatus::not_found) {
      findings.push_back({Reason::unknown_agent_sender,
                          fmt::format("{} is not a registered agent identity", f.mail_from)});
    } else {
      v.sender_identity = sender.identity->id;
      check_outbound(f, *sender.identity, registry, s, v, findings, t);
    }
  }
  for (const auto& rcpt : f.recipients) {
    auto inbox = registry.by_inbox(rcpt);
    if (!governed(rcpt, inbox, s)) continue;
    v.directions |= kInbound;
    if (inbox.identity && inbox.status == LookupStatus::found)
      v.recipient_identities.push_back(inbox.identity->id);
    if (auto finding = inbox_state(inbox, rcpt, f.now, t)) {
      findings.push_back(*finding);
    } else if (!note(t, "inbox.accept_from",
                     matches_any(inbox.identity->accept_from, f.mail_from, s.address_rules), [&] {
                       return fmt::format("{} vs {}'s accept_from {}",
                                          f.mail_from.empty() ? "<>" : f.mail_from, rcpt,
                                          fmt::join(inbox.identity->accept_from, ","));
                     })) {
      v.untrusted = true;
      findings.push_back({Reason::sender_not_trusted,
                          fmt::format("{} is not trusted by inbox {}",
                                      f.mail_from.empty() ? "<>" : f.mail_from, rcpt)});
    }
  }
  for (const auto& finding : findings) {
    if (std::find(v.reasons.begin(), v.reasons.end(), finding.reason) == v.reasons.end())
      v.reasons.push_back(finding.reason);
  }
  v.would_action = most_severe(findings, s);
  v.action = s.mode == Mode::monitor ? Action::accept : v.would_action;
  if (!findings.empty()) v.detail = findings.front().detail;
  return v;
}

}  // namespace agentgate::policy
