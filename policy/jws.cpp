// Agent-Proof parsing and Ed25519 through OpenSSL's EVP interface. Parsing refuses early and by
// size: the token is bounded before it is decoded, each JSON text is shape-checked by a SAX pass
// (depth, duplicate members) before a DOM is built, and every claim is type-checked. OpenSSL
// objects are owned by unique_ptr and the thread's error queue is cleared after each call.
#include "policy/jws.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "policy/digest.hpp"

namespace agentgate::policy {
namespace {

using json = nlohmann::json;
using Problem = std::optional<std::string>;  // nullopt = fine, else what was wrong

// A SAX pass that stops at the first member name repeated within one object or at nesting
// deeper than kMaxJsonDepth, so the DOM parse that follows only ever sees small, flat JSON.
struct ShapeCheck {
  std::vector<std::set<std::string>> open;  // member names seen, per open object or array
  const char* why = "is not valid JSON";

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return push(); }
  bool start_array(std::size_t) { return push(); }
  bool end_object() { return pop(); }
  bool end_array() { return pop(); }
  bool key(json::string_t& name) {
    if (open.back().insert(name).second) return true;
    why = "repeats a member name";
    return false;
  }
  bool parse_error(std::size_t, const std::string&, const json::exception&) { return false; }

  bool push() {
    if (open.size() >= kMaxJsonDepth) {
      why = "is nested too deeply";
      return false;
    }
    open.emplace_back();
    return true;
  }
  bool pop() {
    open.pop_back();
    return true;
  }
};

// The JSON object in a decoded part, or a problem naming the part.
Problem parse_object(const std::string& text, const char* part, json& out) {
  ShapeCheck shape;
  if (!json::sax_parse(text, &shape, json::input_format_t::json, true))
    return std::string(part) + " " + shape.why;
  out = json::parse(text, nullptr, false);
  if (out.is_discarded()) return std::string(part) + " is not valid JSON";
  if (!out.is_object()) return std::string(part) + " is not a JSON object";
  return std::nullopt;
}

bool is_b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool is_header_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != ':';  // RFC 5322 ftext
  });
}

// The compact token with folding whitespace removed, or a problem. Stops copying at the bound,
// so memory stays bounded whatever the input length.
Problem compact_token(std::string_view value, std::string& token) {
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (token.size() == kMaxProofToken) return "token is longer than 8192 bytes";
    if (!is_b64url_char(c) && c != '.') return "token has a character outside base64url";
    token.push_back(c);
  }
  return std::nullopt;
}

Problem read_header(const json& h, ProofHeader& out) {
  for (const char* refused : {"jwk", "jku", "x5u", "x5c", "crit", "b64"})
    if (h.contains(refused)) return std::string("header parameter ") + refused + " is refused";
  auto alg = h.find("alg");
  if (alg == h.end() || !alg->is_string() || alg->get_ref<const std::string&>() != kProofAlg)
    return "alg must be \"EdDSA\"";
  auto typ = h.find("typ");
  if (typ == h.end() || !typ->is_string() || typ->get_ref<const std::string&>() != kProofTyp)
    return "typ must be \"agent-proof+jwt\"";
  auto kid = h.find("kid");
  if (kid == h.end() || !kid->is_string()) return "kid must be a string";
  const auto& k = kid->get_ref<const std::string&>();
  bool printable = std::all_of(k.begin(), k.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (k.empty() || k.size() > kMaxKidLength || !printable)
    return "kid must be 1 to 128 printable ASCII characters";
  out = {std::string(kProofAlg), std::string(kProofTyp), k};
  return std::nullopt;
}

struct StringClaim {
  const char* name;
  std::string ProofClaims::*field;
  bool required;
  bool non_empty;
};

constexpr StringClaim kStringClaims[] = {
    {"iss", &ProofClaims::iss, true, true}, {"aud", &ProofClaims::aud, true, true},
    {"jti", &ProofClaims::jti, true, true}, {"task", &ProofClaims::task, true, true},
    {"act", &ProofClaims::act, true, true}, {"irt", &ProofClaims::irt, false, false},
    {"mf", &ProofClaims::mf, true, false},  {"rth", &ProofClaims::rth, true, true},
    {"hh", &ProofClaims::hh, true, true},   {"bh", &ProofClaims::bh, true, true},
};

Problem read_string(const json& c, const StringClaim& spec, ProofClaims& out) {
  std::string name = std::string("claim ") + spec.name;
  auto it = c.find(spec.name);
  if (it == c.end()) return spec.required ? Problem(name + " is missing") : std::nullopt;
  if (!it->is_string()) return name + " must be a string";
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > kMaxClaimString) return name + " is longer than 1024 bytes";
  if (has_control(s)) return name + " contains a control character";
  if (spec.non_empty && s.empty()) return name + " is empty";
  out.*spec.field = s;
  return std::nullopt;
}

Problem read_time(const json& c, const char* claim, std::int64_t& out) {
  std::string name = std::string("claim ") + claim;
  auto it = c.find(claim);
  if (it == c.end()) return name + " is missing";
  bool fits = it->is_number_integer() &&
              (it->is_number_unsigned()
                   ? it->get<std::uint64_t>() <=
                         static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   : it->get<std::int64_t>() >= 0);
  if (!fits) return name + " must be a non-negative integer of seconds";
  out = it->get<std::int64_t>();
  return std::nullopt;
}

Problem read_signed_names(const json& c, std::vector<std::string>& out) {
  auto it = c.find("h");
  if (it == c.end()) return "claim h is missing";
  if (!it->is_array()) return "claim h must be an array";
  if (it->size() > kMaxSignedHeaders) return "claim h has more than 32 names";
  for (const auto& item : *it) {
    if (!item.is_string()) return "claim h must hold only strings";
    const auto& s = item.get_ref<const std::string&>();
    if (s.size() > kMaxClaimString || !is_header_name(s))
      return "claim h holds something that is not a header name";
    out.push_back(s);
  }
  return std::nullopt;
}

Problem read_claims(const json& c, ProofClaims& out) {
  for (const auto& spec : kStringClaims)
    if (auto p = read_string(c, spec, out)) return p;
  if (out.act != "send" && out.act != "reply" && out.act != "escalate" && out.act != "invoke")
    return "claim act must be send, reply, escalate or invoke";
  if (auto p = read_time(c, "iat", out.iat)) return p;
  if (auto p = read_time(c, "exp", out.exp)) return p;
  return read_signed_names(c, out.h);
}

// Everything parse_proof checks, in order; fills `out` as it goes.
Problem parse_into(std::string_view value, ParsedProof& out) {
  std::string token;
  if (auto p = compact_token(value, token)) return p;
  if (std::count(token.begin(), token.end(), '.') != 2)
    return "compact JWS must have exactly three parts";
  auto dot1 = token.find('.');
  auto dot2 = token.find('.', dot1 + 1);
  std::string_view t(token);
  auto header_b64 = t.substr(0, dot1);
  auto claims_b64 = t.substr(dot1 + 1, dot2 - dot1 - 1);
  auto sig_b64 = t.substr(dot2 + 1);
  if (header_b64.size() > kMaxProofHeaderPart) return "header part is too long";
  if (sig_b64.size() > kMaxProofSignaturePart) return "signature must be 64 bytes";
  auto header_text = base64url_decode(header_b64);
  auto claims_text = base64url_decode(claims_b64);
  auto sig = base64url_decode(sig_b64);
  if (!header_text || !claims_text || !sig) return "a part is not canonical unpadded base64url";
  if (sig->size() != kEd25519SignatureSize) return "signature must be 64 bytes";
  json header;
  json claims;
  if (auto p = parse_object(*header_text, "header", header)) return p;
  if (auto p = read_header(header, out.header)) return p;
  if (auto p = parse_object(*claims_text, "claims", claims)) return p;
  if (auto p = read_claims(claims, out.claims)) return p;
  out.signing_input = token.substr(0, dot2);
  out.signature = std::move(*sig);
  return std::nullopt;
}

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, Free>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Free>;
using Bio = std::unique_ptr<BIO, Free>;

constexpr std::size_t kMaxPem = std::size_t{64} * 1024;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

enum class Half { public_key, private_key };

// An Ed25519 key from its raw 32 bytes; throws std::invalid_argument for any other size.
Pkey from_raw(std::string_view raw, Half half) {
  if (raw.size() != kEd25519KeySize) throw std::invalid_argument("Ed25519 keys are 32 bytes");
  auto* make =
      half == Half::private_key ? EVP_PKEY_new_raw_private_key : EVP_PKEY_new_raw_public_key;
  Pkey key(make(EVP_PKEY_ED25519, nullptr, bytes(raw), raw.size()));
  if (!key) throw std::runtime_error("OpenSSL refused the Ed25519 key");
  return key;
}

// The raw bytes of one half of an Ed25519 key; nullopt for any other kind of key.
std::optional<std::string> to_raw(const EVP_PKEY* key, Half half) {
  if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) return std::nullopt;
  std::string out(kEd25519KeySize, '\0');
  std::size_t len = out.size();
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  int rc = half == Half::private_key ? EVP_PKEY_get_raw_private_key(key, p, &len)
                                     : EVP_PKEY_get_raw_public_key(key, p, &len);
  if (rc != 1 || len != kEd25519KeySize) return std::nullopt;
  return out;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

int refuse_passphrase(char*, int, int, void*) {
  return -1;
}

// Reads a PEM key from memory; never prompts (encrypted keys are refused).
Pkey read_pem(std::string_view pem, Half half) {
  if (pem.size() > kMaxPem) return nullptr;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return Pkey(half == Half::private_key
                  ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr)
                  : PEM_read_bio_PUBKEY(bio.get(), nullptr, refuse_passphrase, nullptr));
}

}  // namespace

ParsedProof parse_proof(std::string_view header_value) {
  ParsedProof out;
  Problem problem;
  try {
    problem = parse_into(header_value, out);
  } catch (const nlohmann::json::exception&) {
    problem = "token JSON is unusable";
  }
  if (problem) {
    out = ParsedProof{};
    out.error->detail = std::move(*problem);
  } else {
    out.error.reset();
  }
  return out;
}

namespace {

// Building an EVP_PKEY from raw bytes costs OpenSSL 3 a provider lookup and an allocation, about
// a tenth of a verification (docs/benchmarks.md). Each thread keeps the keys it verified with,
// by their bytes (a key is what its bytes are: nothing here can go stale), with its own context
// reused across verifications. Bounded: cleared when full.
struct VerifierCache {
  static constexpr std::size_t kMaxKeys = 4096;
  std::unordered_map<std::string, Pkey> keys;
  MdCtx ctx{EVP_MD_CTX_new()};

  EVP_PKEY* key(std::string_view raw) {
    auto found = keys.find(std::string(raw));
    if (found != keys.end()) return found->second.get();
    Pkey made(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(raw), raw.size()));
    if (!made) return nullptr;
    if (keys.size() >= kMaxKeys) keys.clear();
    return keys.emplace(std::string(raw), std::move(made)).first->second.get();
  }
};

}  // namespace

bool verify_ed25519(std::string_view public_key_raw32, std::string_view signing_input,
                    std::string_view signature64) {
  if (public_key_raw32.size() != kEd25519KeySize || signature64.size() != kEd25519SignatureSize)
    return false;
  thread_local VerifierCache cache;
  auto* key = cache.key(public_key_raw32);
  auto* ctx = cache.ctx.get();
  bool ok = key && ctx && EVP_MD_CTX_reset(ctx) == 1 &&
            EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, bytes(signature64), signature64.size(), bytes(signing_input),
                             signing_input.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::optional<ProofError> check_proof_signature(const ParsedProof& proof,
                                                std::string_view public_key_raw32) {
  if (!proof.ok()) return proof.error;
  if (verify_ed25519(public_key_raw32, proof.signing_input, proof.signature)) return std::nullopt;
  return ProofError{Reason::proof_bad_signature, "signature does not verify under the grant key"};
}

std::string sign_ed25519(std::string_view private_key_raw32, std::string_view signing_input) {
  auto key = from_raw(private_key_raw32, Half::private_key);
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureSize, '\0');
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     bytes(signing_input), signing_input.size()) != 1 ||
      len != kEd25519SignatureSize) {
    ERR_clear_error();
    throw std::runtime_error("Ed25519 signing failed");
  }
  return sig;
}

std::string make_compact_jws(const ProofHeader& header, const nlohmann::json& claims,
                             std::string_view private_key_raw32) {
  if (!claims.is_object()) throw std::invalid_argument("proof claims must be a JSON object");
  json h = {{"alg", header.alg}, {"typ", header.typ}, {"kid", header.kid}};
  std::string input = base64url_encode(h.dump()) + "." + base64url_encode(claims.dump());
  return input + "." + base64url_encode(sign_ed25519(private_key_raw32, input));
}

nlohmann::json claims_to_json(const ProofClaims& c) {
  json j = {{"iss", c.iss}, {"aud", c.aud},   {"iat", c.iat}, {"exp", c.exp},
            {"jti", c.jti}, {"task", c.task}, {"act", c.act}, {"mf", c.mf},
            {"rth", c.rth}, {"h", c.h},       {"hh", c.hh},   {"bh", c.bh}};
  if (!c.irt.empty()) j["irt"] = c.irt;
  return j;
}

Ed25519KeyPair generate_ed25519() {
  std::unique_ptr<EVP_PKEY_CTX, Free> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    ERR_clear_error();
    throw std::runtime_error("Ed25519 key generation failed");
  }
  Pkey key(raw);
  auto pub = to_raw(key.get(), Half::public_key);
  auto priv = to_raw(key.get(), Half::private_key);
  if (!pub || !priv) throw std::runtime_error("Ed25519 key export failed");
  return {std::move(*pub), std::move(*priv)};
}

std::optional<std::string> ed25519_public_from_private(std::string_view private_key_raw32) {
  if (private_key_raw32.size() != kEd25519KeySize) return std::nullopt;
  return to_raw(from_raw(private_key_raw32, Half::private_key).get(), Half::public_key);
}

std::string private_key_to_pem(std::string_view private_key_raw32) {
  auto key = from_raw(private_key_raw32, Half::private_key);
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("PEM encoding of the private key failed");
  return bio_text(bio.get());
}

std::string public_key_to_pem(std::string_view public_key_raw32) {
  auto key = from_raw(public_key_raw32, Half::public_key);
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1)
    throw std::runtime_error("PEM encoding of the public key failed");
  return bio_text(bio.get());
}

std::optional<std::string> private_key_from_pem(std::string_view pem) {
  auto key = read_pem(pem, Half::private_key);
  ERR_clear_error();
  return to_raw(key.get(), Half::private_key);
}

std::optional<std::string> public_key_from_pem(std::string_view pem) {
  auto key = read_pem(pem, Half::public_key);
  ERR_clear_error();
  return to_raw(key.get(), Half::public_key);
}

}  // namespace agentgate::policy
