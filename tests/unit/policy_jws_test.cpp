// The Agent-Proof JWS: interoperability with the RFC 8032 / RFC 8037 / RFC 8410 vectors, the
// sign -> parse -> verify round trip, a table of hostile tokens that must each be refused for the
// named cause (and stay bounded), and signature checks that any tampering defeats.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "policy/digest.hpp"
#include "policy/jws.hpp"

namespace agentgate::policy {
namespace {

using json = nlohmann::json;

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// RFC 8032 section 7.1, TEST 1.
const std::string kSecret =
    from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const std::string kPublic =
    from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

ProofHeader sample_header() {
  return {"EdDSA", "agent-proof+jwt", "g-0123456789abcdef0123"};
}

ProofClaims sample_claims() {
  ProofClaims c;
  c.iss = "helpdesk-bot";
  c.aud = "agentgate:mx1.example.com";
  c.iat = 1780315200;
  c.exp = 1780315500;
  c.jti = "Vx3CkqD0Jm5vC8y0oZ1Tqg";
  c.task = "TCK-4711";
  c.act = "reply";
  c.irt = "<abc@example.com>";
  c.mf = "helpdesk@agents.example.com";
  c.rth = "fNUTTTULRLS402G3OL68Q-CVYjd2uufHbeCJovmIKt4";
  c.h = {"from", "to", "subject", "date", "message-id"};
  c.hh = "Z-ZkX9PGzwcyuYxUmzhcD9WG92HNtA8pY1aFJZFrvSI";
  c.bh = "unak6JHq0wL-Q1HP7dW1tjBx9FLA6DffoZ0qrLwbbpo";
  return c;
}

json header_json() {
  return {{"alg", "EdDSA"}, {"typ", "agent-proof+jwt"}, {"kid", "g-1"}};
}

// A correctly signed token around arbitrary header and claims text: the only defect a row has
// is the one it puts in the text.
std::string forge(const std::string& header_text, const std::string& claims_text) {
  auto input = base64url_encode(header_text) + "." + base64url_encode(claims_text);
  return input + "." + base64url_encode(sign_ed25519(kSecret, input));
}
std::string forge(const json& header, const json& claims) {
  return forge(header.dump(), claims.dump());
}
std::string with_header(const char* key, const json& value) {
  auto h = header_json();
  if (value.is_discarded())
    h.erase(key);
  else
    h[key] = value;
  return forge(h, claims_to_json(sample_claims()));
}
std::string with_claim(const char* key, const json& value) {
  auto c = claims_to_json(sample_claims());
  if (value.is_discarded())
    c.erase(key);
  else
    c[key] = value;
  return forge(header_json(), c);
}
std::string why(const ParsedProof& p) {
  return p.error ? p.error->detail : std::string();
}

const json kRemove = json(json::value_t::discarded);

std::string with_signature(const std::string& bytes) {
  auto good = forge(header_json(), claims_to_json(sample_claims()));
  return good.substr(0, good.rfind('.') + 1) + base64url_encode(bytes);
}
std::string with_signature_bytes(std::size_t n) {
  return with_signature(std::string(n, 'S'));
}
std::string truncated_signature() {
  auto good = forge(header_json(), claims_to_json(sample_claims()));
  return with_signature(base64url_decode(good.substr(good.rfind('.') + 1))->substr(0, 63));
}

std::string nested(std::size_t depth) {
  return "{\"deep\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

TEST_CASE("jws: Ed25519 matches RFC 8032 and RFC 8037 vectors") {
  auto sig = from_hex(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
      "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
  CHECK(sign_ed25519(kSecret, "") == sig);
  CHECK(verify_ed25519(kPublic, "", sig));
  CHECK(ed25519_public_from_private(kSecret) == kPublic);

  // RFC 8037 appendix A.4: the JWS any JOSE library produces for this key and payload.
  auto x = base64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  auto d = base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  REQUIRE(x);
  REQUIRE(d);
  const std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::string jose_sig =
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  CHECK(base64url_encode(sign_ed25519(*d, input)) == jose_sig);
  CHECK(verify_ed25519(*x, input, *base64url_decode(jose_sig)));
}

TEST_CASE("jws: a signed proof round-trips through parse and verify") {
  auto keys = generate_ed25519();
  REQUIRE(keys.public_raw.size() == 32);
  REQUIRE(keys.private_raw.size() == 32);
  const auto claims = sample_claims();
  auto token = make_compact_jws(sample_header(), claims_to_json(claims), keys.private_raw);
  auto p = parse_proof(token);
  REQUIRE_MESSAGE(p.ok(), why(p));
  CHECK(p.header.alg == "EdDSA");
  CHECK(p.header.typ == "agent-proof+jwt");
  CHECK(p.header.kid == "g-0123456789abcdef0123");
  CHECK(claims_to_json(p.claims) == claims_to_json(claims));
  CHECK(p.signing_input == token.substr(0, token.rfind('.')));
  CHECK(p.signature.size() == 64);
  CHECK(verify_ed25519(keys.public_raw, p.signing_input, p.signature));
  CHECK_FALSE(check_proof_signature(p, keys.public_raw).has_value());
}

TEST_CASE("jws: well-formed variations are accepted") {
  auto good = forge(header_json(), claims_to_json(sample_claims()));
  std::string folded;
  for (std::size_t i = 0; i < good.size(); i += 60) folded += good.substr(i, 60) + "\r\n\t";
  auto unknown = claims_to_json(sample_claims());
  unknown["x-note"] = {{"k", std::string(3000, 'n')}};
  unknown["nbf"] = "ignored, even with the wrong type";
  auto no_irt = sample_claims();
  no_irt.irt.clear();
  auto depth8 = claims_to_json(sample_claims());
  depth8["deep"] = json::parse(std::string(7, '[') + std::string(7, ']'));
  struct Row {
    const char* name;
    std::string token;
  };
  const Row rows[] = {
      {"plain", good},
      {"folded header value (CRLF + HTAB every 60 characters)", folded},
      {"surrounding whitespace", "  " + good + " \r\n"},
      {"unknown claims are ignored, any type and size within bounds",
       forge(header_json(), unknown)},
      {"irt is optional", forge(header_json(), claims_to_json(no_irt))},
      {"JSON nesting at the depth limit", forge(header_json(), depth8)},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto p = parse_proof(row.token);
      REQUIRE_MESSAGE(p.ok(), why(p));
      CHECK(verify_ed25519(kPublic, p.signing_input, p.signature));
    }
  }
}

// Tokens with exactly one defect each, and a fragment of the detail that defect must produce.
struct HostileRow {
  const char* name;
  std::string token;
  const char* detail;
};

std::vector<HostileRow> hostile_rows() {
  auto good = forge(header_json(), claims_to_json(sample_claims()));
  auto claims_text = claims_to_json(sample_claims()).dump();
  auto dup_claims = "{\"iss\":\"mallory\"," + claims_text.substr(1);
  auto h33 = json::array();
  for (int i = 0; i < 33; ++i) h33.push_back("x-h" + std::to_string(i));
  auto big = claims_to_json(sample_claims());
  big["pad"] = std::string(9 * 1024, 'p');
  return {
      {"alg none", with_header("alg", "none"), "alg must be"},
      {"alg HS256", with_header("alg", "HS256"), "alg must be"},
      {"alg eddsa in the wrong case", with_header("alg", "eddsa"), "alg must be"},
      {"alg missing", with_header("alg", kRemove), "alg must be"},
      {"alg not a string", with_header("alg", 1), "alg must be"},
      {"typ JWT", with_header("typ", "JWT"), "typ must be"},
      {"typ in the wrong case", with_header("typ", "Agent-Proof+JWT"), "typ must be"},
      {"typ missing", with_header("typ", kRemove), "typ must be"},
      {"kid missing", with_header("kid", kRemove), "kid must be"},
      {"kid empty", with_header("kid", ""), "kid must be"},
      {"kid of 129 characters", with_header("kid", std::string(129, 'k')), "kid must be"},
      {"kid with a space", with_header("kid", "g 1"), "kid must be"},
      {"kid a number", with_header("kid", 7), "kid must be"},
      {"jwk header", with_header("jwk", {{"kty", "OKP"}}), "jwk is refused"},
      {"jku header", with_header("jku", "https://evil.example/keys"), "jku is refused"},
      {"x5u header", with_header("x5u", "https://evil.example/cert"), "x5u is refused"},
      {"x5c header", with_header("x5c", json::array({"MII"})), "x5c is refused"},
      {"crit header", with_header("crit", json::array({"exp"})), "crit is refused"},
      {"b64 header", with_header("b64", false), "b64 is refused"},
      {"header a JSON array", forge("[\"EdDSA\"]", claims_text), "header is not a JSON object"},
      {"header repeats alg",
       forge(R"({"alg":"EdDSA","typ":"agent-proof+jwt","kid":"g","alg":"none"})", claims_text),
       "repeats a member name"},
      {"empty token", "", "exactly three parts"},
      {"no dots", "abc", "exactly three parts"},
      {"two parts", good.substr(0, good.rfind('.')), "exactly three parts"},
      {"four parts", good + ".AAAA", "exactly three parts"},
      {"padding '='", good + "==", "outside base64url"},
      {"'+' character", "eyJ+." + good.substr(good.find('.') + 1), "outside base64url"},
      {"'/' character", "eyJ/." + good.substr(good.find('.') + 1), "outside base64url"},
      {"control character", good + "\x01", "outside base64url"},
      {"impossible base64url length", "A." + good.substr(good.find('.') + 1), "not canonical"},
      {"non-zero padding bits", "Zh." + good.substr(good.find('.') + 1), "not canonical"},
      {"truncated signature (63 bytes)", truncated_signature(), "64 bytes"},
      {"six zero bytes appended to a real signature", good + "AAAAAAAA", "64 bytes"},
      {"65-byte signature", with_signature_bytes(65), "64 bytes"},
      {"empty signature", with_signature_bytes(0), "64 bytes"},
      {"oversized signature part", with_signature_bytes(200), "64 bytes"},
      {"oversized token (9 KiB)", forge(header_json(), big), "longer than 8192"},
      {"claims not JSON", forge(header_json().dump(), "not json"), "claims is not valid JSON"},
      {"claims a JSON array", forge(header_json().dump(), "[1,2]"), "claims is not a JSON object"},
      {"claims a JSON string", forge(header_json().dump(), "\"x\""), "claims is not a JSON object"},
      {"claims with invalid UTF-8", forge(header_json().dump(), "{\"iss\":\"\xff\"}"),
       "claims is not valid JSON"},
      {"claims repeat iss", forge(header_json().dump(), dup_claims), "repeats a member name"},
      {"claims nested 10k levels (stopped by size)", forge(header_json().dump(), nested(10000)),
       "longer than 8192"},
      {"claims nested 2k levels (stopped by depth)", forge(header_json().dump(), nested(2000)),
       "nested too deeply"},
      {"claims one level too deep", forge(header_json().dump(), nested(8)), "nested too deeply"},
      {"iat as a string", with_claim("iat", "1780315200"), "claim iat must be"},
      {"iat fractional", with_claim("iat", 1780315200.5), "claim iat must be"},
      {"iat negative", with_claim("iat", -1), "claim iat must be"},
      {"iat beyond int64", with_claim("iat", 18446744073709551615ULL), "claim iat must be"},
      {"exp missing", with_claim("exp", kRemove), "claim exp is missing"},
      {"h not an array", with_claim("h", "from"), "claim h must be an array"},
      {"h missing", with_claim("h", kRemove), "claim h is missing"},
      {"h with a number", with_claim("h", json::array({"from", 1})), "only strings"},
      {"h with a colon", with_claim("h", json::array({"from:"})), "not a header name"},
      {"h with an empty name", with_claim("h", json::array({""})), "not a header name"},
      {"h of 33 names", with_claim("h", h33), "more than 32"},
      {"2 KiB claim string", with_claim("task", std::string(2048, 't')), "longer than 1024"},
      {"iss missing", with_claim("iss", kRemove), "claim iss is missing"},
      {"iss empty", with_claim("iss", ""), "claim iss is empty"},
      {"iss a number", with_claim("iss", 42), "claim iss must be a string"},
      {"aud an array", with_claim("aud", json::array({"a"})), "claim aud must be a string"},
      {"jti missing", with_claim("jti", kRemove), "claim jti is missing"},
      {"bh missing", with_claim("bh", kRemove), "claim bh is missing"},
      {"act unknown", with_claim("act", "delete"), "claim act must be"},
      {"mf with a newline", with_claim("mf", "a@x.org\r\nBcc: b@x.org"), "control character"},
  };
}

TEST_CASE("jws: hostile tokens are refused as malformed, for the named cause") {
  static const std::vector<HostileRow> rows = hostile_rows();  // built once, not once per SUBCASE
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto p = parse_proof(row.token);
      REQUIRE_FALSE(p.ok());
      CHECK(p.error->reason == Reason::proof_malformed);
      CHECK_MESSAGE(p.error->detail.find(row.detail) != std::string::npos, p.error->detail);
      CHECK(p.signing_input.empty());
      CHECK(p.signature.empty());
      CHECK(p.header.kid.empty());
    }
  }
}

TEST_CASE("jws: tampering defeats the signature") {
  auto token = forge(header_json(), claims_to_json(sample_claims()));
  auto p = parse_proof(token);
  REQUIRE(p.ok());
  REQUIRE(verify_ed25519(kPublic, p.signing_input, p.signature));

  SUBCASE("wrong key") {
    auto other = generate_ed25519();
    CHECK_FALSE(verify_ed25519(other.public_raw, p.signing_input, p.signature));
    auto e = check_proof_signature(p, other.public_raw);
    REQUIRE(e.has_value());
    CHECK(e->reason == Reason::proof_bad_signature);
  }
  SUBCASE("every single flipped bit of the signature") {
    for (std::size_t bit = 0; bit < 512; ++bit) {
      auto sig = p.signature;
      sig[bit / 8] = static_cast<char>(sig[bit / 8] ^ (1 << (bit % 8)));
      CAPTURE(bit);
      REQUIRE_FALSE(verify_ed25519(kPublic, p.signing_input, sig));
    }
  }
  SUBCASE("every single flipped byte of the signing input") {
    for (std::size_t i = 0; i < p.signing_input.size(); ++i) {
      auto input = p.signing_input;
      input[i] = static_cast<char>(input[i] ^ 0x01);
      CAPTURE(i);
      REQUIRE_FALSE(verify_ed25519(kPublic, input, p.signature));
    }
  }
  SUBCASE("claims changed, old signature kept: parses, then fails as bad_signature") {
    auto claims = claims_to_json(sample_claims());
    claims["act"] = "send";
    auto forged = base64url_encode(header_json().dump()) + "." + base64url_encode(claims.dump()) +
                  token.substr(token.rfind('.'));
    auto q = parse_proof(forged);
    REQUIRE(q.ok());
    auto e = check_proof_signature(q, kPublic);
    REQUIRE(e.has_value());
    CHECK(e->reason == Reason::proof_bad_signature);
  }
  SUBCASE("malleated signature (S + L) is refused") {
    // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    const auto order = from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    auto sig = p.signature;
    unsigned carry = 0;
    for (std::size_t i = 0; i < 32; ++i) {
      unsigned sum =
          static_cast<unsigned char>(sig[32 + i]) + static_cast<unsigned char>(order[i]) + carry;
      sig[32 + i] = static_cast<char>(sum & 0xff);
      carry = sum >> 8;
    }
    CHECK_FALSE(verify_ed25519(kPublic, p.signing_input, sig));
  }
  SUBCASE("wrong sizes are false, not errors") {
    CHECK_FALSE(verify_ed25519(kPublic.substr(0, 31), p.signing_input, p.signature));
    CHECK_FALSE(verify_ed25519(kPublic, p.signing_input, p.signature.substr(0, 63)));
    CHECK_FALSE(verify_ed25519("", "", ""));
  }
  SUBCASE("a refused proof keeps its own reason") {
    auto e = check_proof_signature(parse_proof("x"), kPublic);
    REQUIRE(e.has_value());
    CHECK(e->reason == Reason::proof_malformed);
  }
}

TEST_CASE("jws: a default ParsedProof is a refusal") {
  ParsedProof p;
  CHECK_FALSE(p.ok());
  CHECK(check_proof_signature(p, kPublic).has_value());
}

TEST_CASE("jws: PEM keys round-trip and foreign PEM is refused") {
  // RFC 8410 sections 10.1 and 10.3: one key pair.
  const std::string rfc_private =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
      "-----END PRIVATE KEY-----\n";
  const std::string rfc_public =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
      "-----END PUBLIC KEY-----\n";
  const std::string encrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAj/eLrAjeuEzwICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEPW+EFytMSnjTkzsEPvEpVYEQIKH\n"
      "LVGYjYijvPlADxgMZB5UjjHLfWdu2IcvJ+N1Zdc35HOfgyaQZ+goujlGXKi5Ydfj\n"
      "UeT+uyeWlNGsHyeSBP8=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  const std::string p256_public =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8CcOs/L0+8gsw1+blOzwHjCcE3lH\n"
      "HkPDYvHz1bjW0XzC8sOQkAkn/5+JvFTR7OyZGPh8p/CfMGlrmO9akz9UVw==\n"
      "-----END PUBLIC KEY-----\n";

  SUBCASE("RFC 8410 keys decode to one pair") {
    auto priv = private_key_from_pem(rfc_private);
    auto pub = public_key_from_pem(rfc_public);
    REQUIRE(priv);
    REQUIRE(pub);
    CHECK(ed25519_public_from_private(*priv) == *pub);
    CHECK(private_key_to_pem(*priv) == rfc_private);
    CHECK(public_key_to_pem(*pub) == rfc_public);
  }
  SUBCASE("generated keys round-trip") {
    auto keys = generate_ed25519();
    CHECK(private_key_from_pem(private_key_to_pem(keys.private_raw)) == keys.private_raw);
    CHECK(public_key_from_pem(public_key_to_pem(keys.public_raw)) == keys.public_raw);
  }
  SUBCASE("refusals") {
    CHECK_FALSE(private_key_from_pem(encrypted));  // no passphrase prompt, just refused
    CHECK_FALSE(private_key_from_pem(rfc_public));
    CHECK_FALSE(public_key_from_pem(rfc_private));
    CHECK_FALSE(public_key_from_pem(p256_public));
    CHECK_FALSE(private_key_from_pem("not a pem"));
    CHECK_FALSE(public_key_from_pem(""));
    CHECK_FALSE(ed25519_public_from_private("short"));
    CHECK_THROWS_AS(private_key_to_pem("short"), std::invalid_argument);
    CHECK_THROWS_AS(public_key_to_pem(std::string(33, 'k')), std::invalid_argument);
    CHECK_THROWS_AS(sign_ed25519("short", "x"), std::invalid_argument);
    CHECK_THROWS_AS(make_compact_jws(sample_header(), json::array(), kSecret),
                    std::invalid_argument);
  }
}

}  // namespace
}  // namespace agentgate::policy
