// Agent-Proof verification. Keys and algorithms come only from the store (the grant), never from
// the token: parse_proof has already refused alg other than EdDSA and any embedded key.
#include "policy/proof_check.hpp"

#include <algorithm>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "policy/canonical.hpp"
#include "policy/digest.hpp"
#include "policy/jws.hpp"

namespace agentgate::policy {
namespace {

ProofCheck fail(Reason r, std::string detail) {
  return {ProofFailure{r, std::move(detail)}, {}};
}

bool lists(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return n.size() == name.size() &&
           std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  });
}

bool present(const MessageFacts& f, std::string_view name) {
  return std::any_of(f.headers.begin(), f.headers.end(),
                     [&](const auto& h) { return lists({h.first}, name); });
}

std::string joined(const std::vector<std::string>& names) {
  return fmt::format("{}", fmt::join(names, ","));
}

std::optional<ProofFailure> check_bindings(const MessageFacts& f, const ProofClaims& c, Trace* t) {
  std::vector<std::string_view> required = {"from", "subject", "date", "message-id"};
  if (present(f, "to")) required.push_back("to");
  auto missing = std::find_if(required.begin(), required.end(),
                              [&](std::string_view name) { return !lists(c.h, name); });
  if (!note(t, "proof.signed_headers", missing == required.end(), [&] {
        return fmt::format("h={} must list {}", joined(c.h), fmt::join(required, ","));
      }))
    return ProofFailure{
        Reason::proof_binding_mismatch,
        fmt::format("the proof does not sign the {} header", *missing == "to" ? "To" : *missing)};
  // RFC 5322 allows one instance of each of these; hh takes instances from the bottom, so one
  // more instance than h lists would be displayed without being signed.
  for (std::string_view once :
       {"from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references"}) {
    auto listed = std::count_if(c.h.begin(), c.h.end(),
                                [&](const std::string& n) { return lists({n}, once); });
    auto seen = std::count_if(f.headers.begin(), f.headers.end(),
                              [&](const auto& h) { return lists({h.first}, once); });
    if (listed > 0 && seen > listed) {
      note(t, "proof.unsigned_instances", false,
           [&] { return fmt::format("{} {} headers, {} signed", seen, once, listed); });
      return ProofFailure{Reason::proof_binding_mismatch,
                          fmt::format("the message has an unsigned {} header", once)};
    }
  }
  note(t, "proof.unsigned_instances", true,
       [] { return std::string("no signed header has an extra unsigned instance"); });
  if (!note(t, "proof.mf", c.mf == f.mail_from,
            [&] { return fmt::format("mf {} vs envelope sender {}", c.mf, f.mail_from); }))
    return ProofFailure{Reason::proof_binding_mismatch, "mf differs from the envelope sender"};
  auto rth = recipients_hash(f.recipients);
  if (!note(t, "proof.rth", c.rth == rth, [&] {
        return fmt::format("rth {} vs {} of envelope recipients {}", c.rth, rth,
                           joined(f.recipients));
      }))
    return ProofFailure{Reason::proof_binding_mismatch, "rth differs from the envelope recipients"};
  auto hh = headers_hash(f.headers, c.h);
  if (!note(t, "proof.hh", c.hh == hh,
            [&] { return fmt::format("hh {} vs {} of the message's signed headers", c.hh, hh); }))
    return ProofFailure{Reason::proof_binding_mismatch, "hh differs: a signed header changed"};
  if (!note(t, "proof.bh", c.bh == f.body_hash,
            [&] { return fmt::format("bh {} vs {} of the body", c.bh, f.body_hash); }))
    return ProofFailure{Reason::proof_binding_mismatch, "bh differs: the body changed"};
  return std::nullopt;
}

// What "the same message" means for replay: the envelope, every header field (signed or not)
// and the canonical body. A byte-identical SMTP retry has the same digest; anything else with
// the same jti is a replay.
std::string message_digest(const MessageFacts& f) {
  std::string all = f.mail_from + "\n" + recipients_hash(f.recipients) + "\n" + f.body_hash + "\n";
  for (const auto& [name, value] : f.headers) all += relaxed_header(name, value);
  for (const auto& p : f.agent_proofs) all += "agent-proof:" + p + "\r\n";
  return sha256_hex(all);
}

}  // namespace

ProofCheck check_proof(const MessageFacts& f, const Identity& sender,
                       const IdentityLookup& registry, const PolicySettings& s, Trace* t) {
  if (!note(t, "proof.present", !f.agent_proofs.empty(),
            [&] { return fmt::format("{} Agent-Proof header(s)", f.agent_proofs.size()); }))
    return fail(Reason::proof_missing, "no Agent-Proof header");
  if (!note(t, "proof.single", f.agent_proofs.size() == 1, [&] {
        return fmt::format("{} Agent-Proof headers, one allowed", f.agent_proofs.size());
      }))
    return fail(Reason::proof_malformed, "more than one Agent-Proof header");
  auto parsed = parse_proof(f.agent_proofs.front());
  if (!note(t, "proof.format", parsed.ok(), [&] {
        return parsed.ok() ? fmt::format("alg={} typ={} kid={} ({} bytes)", parsed.header.alg,
                                         parsed.header.typ, parsed.header.kid,
                                         f.agent_proofs.front().size())
                           : parsed.error->detail;
      }))
    return fail(parsed.error->reason, parsed.error->detail);
  const auto& c = parsed.claims;
  const Grant* grant = registry.grant(parsed.header.kid);
  if (!note(t, "grant.known", grant != nullptr, [&] {
        return fmt::format("kid {} {}", parsed.header.kid, grant ? "found" : "unknown");
      }))
    return fail(Reason::grant_unknown, "the proof names no known grant");
  if (!note(t, "grant.identity", grant->identity_id == sender.id && c.iss == sender.id, [&] {
        return fmt::format("grant identity {}, iss {}, sender identity {}", grant->identity_id,
                           c.iss, sender.id);
      }))
    return fail(Reason::proof_binding_mismatch,
                fmt::format("the proof's grant or issuer is not identity {}", sender.id));
  auto state = grant_state(*grant, f.now);
  // Exhaustion is decided atomically by the store, later.
  note(t, "grant.state", state == GrantState::active || state == GrantState::exhausted,
       [&] { return fmt::format("{} (expires {:%FT%TZ})", to_string(state), grant->expires_at); });
  if (state == GrantState::revoked) return fail(Reason::grant_revoked, "the grant is revoked");
  if (state == GrantState::expired) return fail(Reason::grant_expired, "the grant has expired");
  auto bad = check_proof_signature(parsed, grant->public_key);
  if (!note(t, "proof.signature", !bad, [&] {
        return bad ? bad->detail
                   : fmt::format("Ed25519 signature verifies with grant {}'s key", grant->id);
      }))
    return fail(bad->reason, bad->detail);
  if (!note(t, "proof.audience", c.aud == s.audience,
            [&] { return fmt::format("aud {} vs {}", c.aud, s.audience); }))
    return fail(Reason::proof_wrong_audience, fmt::format("aud is not {}", s.audience));
  auto now = f.now.time_since_epoch().count();
  auto skew = s.clock_skew.count();
  auto window = [&] {
    return fmt::format("iat {}, exp {}, now {}, skew {}s", c.iat, c.exp, now, skew);
  };
  if (!note(t, "proof.lifetime", c.exp > c.iat && c.exp - c.iat <= 300, window))
    return fail(Reason::proof_malformed, "exp - iat must be between 1 and 300 seconds");
  if (!note(t, "proof.not_before", c.iat <= now + skew, window))
    return fail(Reason::proof_not_yet_valid, "iat lies in the future");
  if (!note(t, "proof.not_after", now < c.exp + skew, window))
    return fail(Reason::proof_expired, "the proof has expired");
  if (auto bad_binding = check_bindings(f, c, t)) return {bad_binding, {}};
  if (!note(t, "proof.task", c.task == grant->task_id,
            [&] { return fmt::format("task {} vs grant task {}", c.task, grant->task_id); }))
    return fail(Reason::task_mismatch,
                fmt::format("task is not the grant's task {}", grant->task_id));
  auto act = parse_capability(c.act);
  bool act_ok =
      act && *act != Capability::receive && sender.actions.has(*act) && grant->actions.has(*act);
  if (!note(t, "proof.action", act_ok, [&] {
        return fmt::format("act {}; identity allows {}; grant allows {}", c.act,
                           sender.actions.to_string(), grant->actions.to_string());
      }))
    return fail(Reason::action_not_permitted,
                fmt::format("'{}' is not allowed by identity {} and grant {}", c.act, sender.id,
                            grant->id));
  auto targets = grant->targets.find(*act);
  for (const auto& rcpt : f.recipients) {
    bool ok = targets != grant->targets.end() &&
              std::any_of(targets->second.begin(), targets->second.end(), [&](const auto& p) {
                auto pattern = AddressPattern::parse(p, s.address_rules, nullptr);
                return pattern && pattern->matches(rcpt);
              });
    if (!note(t, "grant.target", ok, [&] {
          return fmt::format("{} against the grant's {} targets {}", rcpt, c.act,
                             targets == grant->targets.end() ? "(none)" : joined(targets->second));
        }))
      return fail(Reason::recipient_not_permitted,
                  fmt::format("{} is not a {} target of grant {}", rcpt, c.act, grant->id));
  }
  ProofCheck out;
  out.context = {grant->id,
                 grant->task_id,
                 *act,
                 c.irt,
                 c.jti,
                 message_digest(f),
                 Time(std::chrono::seconds(c.exp))};
  return out;
}

}  // namespace agentgate::policy
