// Agent-Proof verification. Keys and algorithms come only from the store (the grant), never from
// the token: parse_proof has already refused alg other than EdDSA and any embedded key.
#include "policy/proof_check.hpp"

#include <algorithm>

#include <fmt/format.h>

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

std::optional<ProofFailure> check_bindings(const MessageFacts& f, const ProofClaims& c) {
  for (std::string_view required : {"from", "subject", "date", "message-id"})
    if (!lists(c.h, required))
      return ProofFailure{Reason::proof_binding_mismatch,
                          fmt::format("the proof does not sign the {} header", required)};
  if (present(f, "to") && !lists(c.h, "to"))
    return ProofFailure{Reason::proof_binding_mismatch, "the proof does not sign the To header"};
  // RFC 5322 allows one instance of each of these; hh takes instances from the bottom, so one
  // more instance than h lists would be displayed without being signed.
  for (std::string_view once :
       {"from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references"}) {
    auto listed = std::count_if(c.h.begin(), c.h.end(),
                                [&](const std::string& n) { return lists({n}, once); });
    auto seen = std::count_if(f.headers.begin(), f.headers.end(),
                              [&](const auto& h) { return lists({h.first}, once); });
    if (listed > 0 && seen > listed)
      return ProofFailure{Reason::proof_binding_mismatch,
                          fmt::format("the message has an unsigned {} header", once)};
  }
  if (c.mf != f.mail_from)
    return ProofFailure{Reason::proof_binding_mismatch, "mf differs from the envelope sender"};
  if (c.rth != recipients_hash(f.recipients))
    return ProofFailure{Reason::proof_binding_mismatch, "rth differs from the envelope recipients"};
  if (c.hh != headers_hash(f.headers, c.h))
    return ProofFailure{Reason::proof_binding_mismatch, "hh differs: a signed header changed"};
  if (c.bh != f.body_hash)
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
                       const IdentityLookup& registry, const PolicySettings& s) {
  if (f.agent_proofs.empty()) return fail(Reason::proof_missing, "no Agent-Proof header");
  if (f.agent_proofs.size() > 1)
    return fail(Reason::proof_malformed, "more than one Agent-Proof header");
  auto parsed = parse_proof(f.agent_proofs.front());
  if (!parsed.ok()) return fail(parsed.error->reason, parsed.error->detail);
  const auto& c = parsed.claims;
  const Grant* grant = registry.grant(parsed.header.kid);
  if (!grant) return fail(Reason::grant_unknown, "the proof names no known grant");
  if (grant->identity_id != sender.id || c.iss != sender.id)
    return fail(Reason::proof_binding_mismatch,
                fmt::format("the proof's grant or issuer is not identity {}", sender.id));
  switch (grant_state(*grant, f.now)) {
    case GrantState::revoked:
      return fail(Reason::grant_revoked, "the grant is revoked");
    case GrantState::expired:
      return fail(Reason::grant_expired, "the grant has expired");
    default:
      break;  // exhaustion is decided atomically by the store, later
  }
  if (auto bad = check_proof_signature(parsed, grant->public_key))
    return fail(bad->reason, bad->detail);
  if (c.aud != s.audience)
    return fail(Reason::proof_wrong_audience, fmt::format("aud is not {}", s.audience));
  auto now = f.now.time_since_epoch().count();
  auto skew = s.clock_skew.count();
  if (c.exp - c.iat > 300 || c.exp <= c.iat)
    return fail(Reason::proof_malformed, "exp - iat must be between 1 and 300 seconds");
  if (c.iat > now + skew) return fail(Reason::proof_not_yet_valid, "iat lies in the future");
  if (c.exp + skew <= now) return fail(Reason::proof_expired, "the proof has expired");
  if (auto bad = check_bindings(f, c)) return {bad, {}};
  if (c.task != grant->task_id)
    return fail(Reason::task_mismatch,
                fmt::format("task is not the grant's task {}", grant->task_id));
  auto act = parse_capability(c.act);
  if (!act || *act == Capability::receive || !sender.actions.has(*act) || !grant->actions.has(*act))
    return fail(Reason::action_not_permitted,
                fmt::format("'{}' is not allowed by identity {} and grant {}", c.act, sender.id,
                            grant->id));
  auto targets = grant->targets.find(*act);
  for (const auto& rcpt : f.recipients) {
    bool ok = targets != grant->targets.end() &&
              std::any_of(targets->second.begin(), targets->second.end(), [&](const auto& t) {
                auto p = AddressPattern::parse(t, s.address_rules, nullptr);
                return p && p->matches(rcpt);
              });
    if (!ok)
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
