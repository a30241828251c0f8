// check_proof (SPEC section 4), the token and its grant: a proof the reference signer made for a
// message holds; every row of the hostile tables changes one thing about the token, the grant or
// the clock and must be refused for exactly that reason. The bindings, the grant's scope, the
// replay digest and the engine's use of the proof are in policy_proof_check_binding_test.cpp.
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "policy_proof_support.hpp"

namespace agentgate::testing {
namespace {

using nlohmann::json;
using policy::Capability;
using policy::Reason;

// A token around arbitrary header and claims text, correctly signed with the grant's key.
std::string forge(const std::string& header_text, const std::string& claims_text) {
  auto input = policy::base64url_encode(header_text) + "." + policy::base64url_encode(claims_text);
  return input + "." +
         policy::base64url_encode(policy::sign_ed25519(grant_key().private_raw, input));
}
json header_json(const char* alg = "EdDSA") {
  return {{"alg", alg}, {"typ", "agent-proof+jwt"}, {"kid", kGrantId}};
}
// The token with its claims part's first character replaced.
std::string with_claims_char(std::string t, char c) {
  t[t.find('.') + 1] = c;
  return t;
}
// The same claims padded with an unknown claim to the longest token of at most `bytes`.
std::string padded_token(const ProofCase& c, std::size_t bytes) {
  auto token_with = [&](std::size_t n) {
    auto copy = c;
    copy.claims["note"] = std::string(n, 'x');
    return copy.token();
  };
  std::size_t n = 0;
  for (std::size_t step = 8192; step > 0;)
    if (token_with(n + step).size() <= bytes)
      n += step;
    else
      step /= 2;
  return token_with(n);
}

TEST_CASE("proof check: a proof the reference signer made for this very message holds") {
  SUBCASE("the proven context names the grant, task, action, jti, expiry and a digest") {
    auto c = proof_case();
    auto r = c.check();
    REQUIRE_FALSE(r.failure.has_value());
    CHECK(r.context.grant_id == kGrantId);
    CHECK(r.context.task_id == kTask);
    CHECK(r.context.action == Capability::send);
    CHECK(r.context.jti == "Vx3CkqD0Jm5vC8y0oZ1Tqg");
    CHECK(r.context.in_reply_to.empty());
    CHECK_FALSE(r.context.digest.empty());
    CHECK(unix_seconds(r.context.expires_at) == c.claims["exp"].get<std::int64_t>());
  }
  SUBCASE("a reply carries its irt into the context") {
    auto c = proof_case();
    c.facts.headers.emplace_back("In-Reply-To", "<q7@example.com>");
    c.claims["act"] = "reply";
    c.claims["irt"] = "<q7@example.com>";
    c.bind();
    auto r = c.check();
    REQUIRE_FALSE(r.failure.has_value());
    CHECK(r.context.action == Capability::reply);
    CHECK(r.context.in_reply_to == "<q7@example.com>");
  }
  const ProofRow rows[] = {
      {"exp 59 s past, inside the 60 s skew", times(-359, -59), std::nullopt},
      {"iat exactly 60 s ahead, at the edge of the skew", times(60, 360), std::nullopt},
      {"the full 300 s lifetime", times(-1, 299), std::nullopt},
      {"an unsigned header added in transit (Received)",
       [](ProofCase& c) {
         c.facts.headers.insert(c.facts.headers.begin(), {"Received", "by mx"});
       },
       std::nullopt},
      {"relaxed canonicalization: signed header refolded and its name re-cased",
       [](ProofCase& c) {
         c.facts.headers[2] = {"SUBJECT", "  Your\r\n\t quote "};
       },
       std::nullopt},
      {"envelope recipients in another order (rth sorts them)",
       [](ProofCase& c) {
         c.facts.recipients = {kAlice, "bob@example.com"};
         c.bind();
         c.facts.recipients = {"bob@example.com", kAlice};
       },
       std::nullopt},
      {"the Agent-Proof value folded over two lines",
       tamper([](std::string t) { return t.insert(40, "\r\n\t"); }), std::nullopt},
      {"unknown claims are ignored, up to a token just under 8192 bytes",
       [](ProofCase& c) {
         auto t = padded_token(c, policy::kMaxProofToken);
         REQUIRE(t.size() > policy::kMaxProofToken - 4);
         c.proofs = std::vector<std::string>{t};
       },
       std::nullopt},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("proof check: exactly one well-formed EdDSA token or proof_missing/proof_malformed") {
  const ProofRow rows[] = {
      {"no Agent-Proof: proof_missing", [](ProofCase& c) { c.proofs = std::vector<std::string>{}; },
       Reason::proof_missing},
      {"two Agent-Proof headers, even identical ones",
       [](ProofCase& c) {
         c.proofs = std::vector<std::string>{c.token(), c.token()};
       },
       Reason::proof_malformed, "more than one"},
      {"empty Agent-Proof value", tamper([](std::string) { return std::string(); }),
       Reason::proof_malformed},
      {"alg confusion: HS256 header, HMAC with the public key as secret",
       [](ProofCase& c) {
         auto head = header_json("HS256").dump();
         auto input =
             policy::base64url_encode(head) + "." + policy::base64url_encode(c.claims.dump());
         auto mac = hmac_sha256(c.grant.public_key, input);
         c.proofs = std::vector<std::string>{compact(head, c.claims.dump(), mac)};
       },
       Reason::proof_malformed},
      {"alg HS256 over a valid Ed25519 signature", [](ProofCase& c) { c.header.alg = "HS256"; },
       Reason::proof_malformed, "alg"},
      {"alg none without a signature",
       [](ProofCase& c) {
         c.proofs =
             std::vector<std::string>{compact(header_json("none").dump(), c.claims.dump(), "")};
       },
       Reason::proof_malformed},
      {"typ JWT instead of agent-proof+jwt", [](ProofCase& c) { c.header.typ = "JWT"; },
       Reason::proof_malformed, "typ"},
      {"an embedded jwk is refused, whatever key it holds",
       [](ProofCase& c) {
         auto h = header_json();
         h["jwk"] = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}};
         c.proofs = std::vector<std::string>{forge(h.dump(), c.claims.dump())};
       },
       Reason::proof_malformed, "jwk"},
      {"truncated: the last 20 characters cut",
       tamper([](std::string t) { return t.substr(0, t.size() - 20); }), Reason::proof_malformed},
      {"truncated: the signature part dropped",
       tamper([](std::string t) { return t.substr(0, t.rfind('.')); }), Reason::proof_malformed},
      {"oversized: 9 KiB of signed, otherwise valid token",
       [](ProofCase& c) {
         auto t = padded_token(c, 9 * 1024);
         REQUIRE(t.size() > policy::kMaxProofToken);
         c.proofs = std::vector<std::string>{t};
       },
       Reason::proof_malformed, "8192"},
      {"invalid base64url: '*' in the claims",
       tamper([](std::string t) { return with_claims_char(t, '*'); }), Reason::proof_malformed,
       "base64url"},
      {"invalid base64url: standard base64 '+'",
       tamper([](std::string t) { return with_claims_char(t, '+'); }), Reason::proof_malformed,
       "base64url"},
      {"invalid base64url: '=' padding", tamper([](std::string t) { return t + "=="; }),
       Reason::proof_malformed, "base64url"},
      {"claims that are not JSON",
       [](ProofCase& c) {
         c.proofs = std::vector<std::string>{forge(header_json().dump(), "iss=sales-bot")};
       },
       Reason::proof_malformed, "JSON"},
      {"claims that are a JSON array",
       [](ProofCase& c) {
         c.proofs = std::vector<std::string>{forge(header_json().dump(), "[1,2]")};
       },
       Reason::proof_malformed, "object"},
      {"a 2 KiB claim value", claim("jti", std::string(2048, 'a')), Reason::proof_malformed,
       "1024"},
      {"a required claim missing", [](ProofCase& c) { c.claims.erase("bh"); },
       Reason::proof_malformed, "bh"},
      {"act receive is not an action a proof can claim", claim("act", "receive"),
       Reason::proof_malformed, "act"},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("proof check: kid names a known live grant of the sender that holds the key") {
  const ProofRow rows[] = {
      {"unknown kid", [](ProofCase& c) { c.header.kid = "g-ffffffffffffffffffff"; },
       Reason::grant_unknown},
      {"revoked grant", [](ProofCase& c) { c.grant.revoked = true; }, Reason::grant_revoked},
      {"expired grant (now == expires_at)", [](ProofCase& c) { c.grant.expires_at = kNow; },
       Reason::grant_expired},
      {"a grant of another identity", [](ProofCase& c) { c.grant.identity_id = "intake-bot"; },
       Reason::proof_binding_mismatch, "sales-bot"},
      {"iss names another identity", claim("iss", "intake-bot"), Reason::proof_binding_mismatch,
       "sales-bot"},
      {"signed with another key than the grant's",
       [](ProofCase& c) { c.signing_key = policy::generate_ed25519().private_raw; },
       Reason::proof_bad_signature},
      {"one signature byte flipped", tamper([](std::string t) {
         auto& ch = t[t.rfind('.') + 5];
         ch = ch == 'A' ? 'B' : 'A';
         return t;
       }),
       Reason::proof_bad_signature},
      {"an exhausted grant is the store's to refuse, later",
       [](ProofCase& c) {
         c.grant.max_messages = 1;
         c.grant.messages_used = 1;
       },
       std::nullopt},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("proof check: audience and time window within the configured clock skew") {
  const ProofRow rows[] = {
      {"wrong audience", claim("aud", "agentgate:mx2.example.com"), Reason::proof_wrong_audience},
      {"expired: exp + skew == now", times(-360, -60), Reason::proof_expired},
      {"expired: long ago", times(-7200, -6900), Reason::proof_expired},
      {"no skew configured: exp == now is expired",
       [](ProofCase& c) {
         c.settings.clock_skew = std::chrono::seconds(0);
         times(-300, 0)(c);
       },
       Reason::proof_expired},
      {"future iat beyond the skew", times(61, 361), Reason::proof_not_yet_valid},
      {"exp - iat of 301 s", times(-5, 296), Reason::proof_malformed, "300"},
      {"exp == iat", times(0, 0), Reason::proof_malformed, "300"},
      {"exp before iat", times(0, -10), Reason::proof_malformed, "300"},
  };
  for (const auto& row : rows) run(row);
}

}  // namespace
}  // namespace agentgate::testing
