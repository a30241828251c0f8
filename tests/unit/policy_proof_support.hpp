// Fixture for the Agent-Proof tests: one sending identity, one grant with its Ed25519 key, the
// facts of one message, and the claims the reference signer (`agentgatectl sign`) would make for
// them. A row changes what it attacks (the token, the facts in transit, the grant) and nothing
// else, so the reason it gets is the reason of that one defect. Test-only.
#pragma once

#include <cctype>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/canonical.hpp"
#include "policy/digest.hpp"
#include "policy/jws.hpp"
#include "policy/proof_check.hpp"
#include "policy_engine_support.hpp"

namespace agentgate::testing {

inline const std::string kGrantId = "g-0123456789abcdef0123";
inline const std::string kTask = "T-1";
inline constexpr const char* kAudience = "agentgate:mx1.example.com";
inline constexpr const char* kAlice = "alice@example.com";
inline constexpr const char* kBody = "Hello Alice,\r\n\r\nYour quote is attached.\r\n";

inline std::int64_t unix_seconds(policy::Time t) {
  return t.time_since_epoch().count();
}

// One key pair for the whole run: generating is cheap, but a fixed key keeps rows comparable.
inline const policy::Ed25519KeyPair& grant_key() {
  static const policy::Ed25519KeyPair key = policy::generate_ed25519();
  return key;
}

inline std::string lower_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The names the reference signer puts in h (cli/cmd_sign.cpp signed_names): from, to and cc when
// present, subject, date, message-id, then in-reply-to and references when present.
inline std::vector<std::string> reference_signed_names(const policy::MessageFacts& f) {
  auto has = [&](const char* name) {
    for (const auto& h : f.headers)
      if (lower_ascii(h.first) == name) return true;
    return false;
  };
  std::vector<std::string> names = {"from"};
  for (const char* optional : {"to", "cc"})
    if (has(optional)) names.push_back(optional);
  for (const char* required : {"subject", "date", "message-id"}) names.push_back(required);
  for (const char* optional : {"in-reply-to", "references"})
    if (has(optional)) names.push_back(optional);
  return names;
}

inline std::string body_hash(std::string_view body) {
  return policy::base64url_digest(policy::relaxed_body_hash(body));
}

struct ProofCase {
  policy::Identity identity;
  policy::Grant grant;
  std::string signing_key;  // the private key the token is signed with (the grant's by default)
  policy::ProofHeader header;
  nlohmann::json claims;
  policy::MessageFacts facts;  // agent_proofs is filled by check()
  policy::PolicySettings settings;
  // When set, the Agent-Proof values exactly as given (token tampering); else {token()}.
  std::optional<std::vector<std::string>> proofs;

  std::string token() const { return policy::make_compact_jws(header, claims, signing_key); }

  // What the signer binds: h, mf, rth, hh and bh recomputed from the current facts.
  void bind(std::vector<std::string> names) {
    claims["h"] = names;
    claims["mf"] = facts.mail_from;
    claims["rth"] = policy::recipients_hash(facts.recipients);
    claims["hh"] = policy::headers_hash(facts.headers, names);
    claims["bh"] = facts.body_hash;
  }
  void bind() { bind(reference_signed_names(facts)); }

  policy::MessageFacts sent_facts() const {
    auto f = facts;
    f.agent_proofs = proofs ? *proofs : std::vector<std::string>{token()};
    return f;
  }
  policy::ProofCheck check() const {
    FakeRegistry registry;
    registry.add(identity);
    registry.grants.insert_or_assign(grant.id, grant);
    return policy::check_proof(sent_facts(), identity, registry, settings);
  }
  // The same message through the whole engine: sales-bot authenticated as itself.
  policy::Verdict evaluate(policy::Trace* trace = nullptr) const {
    World w;
    w.settings = settings;
    w.identities.emplace(identity.id, identity);
    w.registry_state.grants.insert_or_assign(grant.id, grant);
    w.facts = sent_facts();
    return w.evaluate(trace);
  }
};

// sales-bot may send and reply to example.com; grant kGrantId (task T-1, send + reply, the same
// targets, valid for another 50 minutes) holds grant_key(); the message goes to alice and its
// proof was signed five seconds ago with the full 300-second lifetime.
inline ProofCase proof_case() {
  using policy::Capability;
  ProofCase c;
  c.identity = sales_bot();
  c.identity.actions =
      policy::CapabilitySet::of({Capability::receive, Capability::send, Capability::reply});
  c.identity.targets.clear();
  c.identity.targets[Capability::send] = {"@example.com"};
  c.identity.targets[Capability::reply] = {"@example.com"};

  c.grant.id = kGrantId;
  c.grant.identity_id = c.identity.id;
  c.grant.task_id = kTask;
  c.grant.purpose = "quote follow-up";
  c.grant.actions = policy::CapabilitySet::of({Capability::send, Capability::reply});
  c.grant.targets = c.identity.targets;
  c.grant.public_key = grant_key().public_raw;
  c.grant.issued_by = "orchestrator";
  c.grant.issued_at = kNow - 10min;
  c.grant.expires_at = kNow + 50min;
  c.signing_key = grant_key().private_raw;
  c.header = {"EdDSA", "agent-proof+jwt", kGrantId};

  c.settings = agent_settings();
  c.settings.audience = kAudience;
  c.settings.require_proof = true;

  auto& f = c.facts;
  f.client_addr = "192.0.2.10";
  f.auth_login = "sales";
  f.queue_id = "4Qx1";
  f.mail_from = kSales;
  f.recipients = {kAlice};
  f.headers = {{"From", "Sales Bot <sales@agents.example.com>"},
               {"To", "Alice <alice@example.com>"},
               {"Subject", "Your quote"},
               {"Date", "Mon, 01 Jun 2026 11:59:50 +0000"},
               {"Message-ID", "<m1@agents.example.com>"}};
  f.from_addresses = {kSales};
  f.message_id = "<m1@agents.example.com>";
  f.subject = "Your quote";
  f.participants = {kSales, kAlice};
  f.body_hash = body_hash(kBody);
  f.now = kNow;

  auto iat = unix_seconds(kNow) - 5;
  c.claims = {{"iss", c.identity.id},
              {"aud", kAudience},
              {"iat", iat},
              {"exp", iat + 300},
              {"jti", "Vx3CkqD0Jm5vC8y0oZ1Tqg"},
              {"task", kTask},
              {"act", "send"}};
  c.bind();
  return c;
}

// HMAC-SHA256 (RFC 2104) over policy::sha256, for the algorithm-confusion row.
inline std::string hmac_sha256(std::string key, std::string_view message) {
  if (key.size() > 64) {
    auto d = policy::sha256(key);
    key.assign(d.begin(), d.end());
  }
  key.resize(64, '\0');
  std::string inner(64, '\0'), outer(64, '\0');
  for (std::size_t i = 0; i < 64; ++i) {
    inner[i] = static_cast<char>(key[i] ^ 0x36);
    outer[i] = static_cast<char>(key[i] ^ 0x5c);
  }
  auto ih = policy::sha256(inner + std::string(message));
  auto oh = policy::sha256(outer + std::string(ih.begin(), ih.end()));
  return std::string(oh.begin(), oh.end());
}

// A compact JWS of arbitrary header and claims text with an arbitrary raw signature.
inline std::string compact(std::string_view header_text, std::string_view claims_text,
                           std::string_view signature) {
  return policy::base64url_encode(header_text) + "." + policy::base64url_encode(claims_text) + "." +
         policy::base64url_encode(signature);
}

// One named row of a check_proof table: what it changes, and the reason it must get.
struct ProofRow {
  const char* name;
  std::function<void(ProofCase&)> change;
  std::optional<policy::Reason> reason;  // nullopt: the proof holds
  const char* detail_has = "";           // a fragment of the failure's detail
};

inline void run(const ProofRow& row) {
  SUBCASE(row.name) {
    auto c = proof_case();
    row.change(c);
    auto r = c.check();
    if (!row.reason) {
      CHECK_MESSAGE(!r.failure.has_value(), (r.failure ? r.failure->detail : ""));
      return;
    }
    CHECK(r.failure.has_value());
    if (!r.failure) return;
    CHECK(policy::to_string(r.failure->reason) == policy::to_string(*row.reason));
    CHECK_MESSAGE(r.failure->detail.find(row.detail_has) != std::string::npos, r.failure->detail);
  }
}

// Token-level changes: the row's token is what `edit` makes of the correctly signed one.
inline std::function<void(ProofCase&)> tamper(std::function<std::string(std::string)> edit) {
  return [edit](ProofCase& c) { c.proofs = std::vector<std::string>{edit(c.token())}; };
}
inline std::function<void(ProofCase&)> claim(const char* key, nlohmann::json value) {
  return [key, value](ProofCase& c) { c.claims[key] = value; };
}
inline std::function<void(ProofCase&)> times(std::int64_t iat_from_now, std::int64_t exp_from_now) {
  return [=](ProofCase& c) {
    c.claims["iat"] = unix_seconds(kNow) + iat_from_now;
    c.claims["exp"] = unix_seconds(kNow) + exp_from_now;
  };
}

}  // namespace agentgate::testing
