// The Agent-Proof token (SPEC section 4): strict parsing of the compact JWS, Ed25519 signing and
// verification, and key encoding for the reference signer. Pure: bytes in, result out; keys
// travel as raw 32-byte strings or PEM text in memory. parse_proof checks form only (sizes, types,
// alg/typ/kid, refused header parameters); it never decides on grants, times or bindings, and it
// never throws on hostile input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "policy/reason.hpp"

namespace agentgate::policy {

// Hard bounds, checked before anything is decoded or parsed.
inline constexpr std::size_t kMaxProofToken = 8192;       // the compact token, folding removed
inline constexpr std::size_t kMaxProofHeaderPart = 1024;  // base64url of the protected header
inline constexpr std::size_t kMaxProofSignaturePart = 128;
inline constexpr std::size_t kMaxClaimString = 1024;  // any string claim, and each name in h
inline constexpr std::size_t kMaxSignedHeaders = 32;  // items in h
inline constexpr std::size_t kMaxKidLength = 128;
inline constexpr std::size_t kMaxJsonDepth = 8;  // nesting of header and claims JSON
inline constexpr std::size_t kEd25519KeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;

inline constexpr std::string_view kProofAlg = "EdDSA";
inline constexpr std::string_view kProofTyp = "agent-proof+jwt";

struct ProofHeader {
  std::string alg;
  std::string typ;
  std::string kid;  // the grant id
};

// The claims of SPEC section 4. irt is "" when absent; every other claim is required.
struct ProofClaims {
  std::string iss, aud, jti, task, act, irt, mf, rth, hh, bh;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::vector<std::string> h;  // signed header names, as the signer wrote them
};

struct ProofError {
  Reason reason = Reason::proof_malformed;
  std::string detail;  // one short sentence; never echoes bytes of the token
};

struct ParsedProof {
  // Set when the token was refused (the rest is then empty). A default-constructed ParsedProof
  // is a refusal, so nothing half-built is ever mistaken for a valid proof.
  std::optional<ProofError> error = ProofError{Reason::proof_malformed, "not parsed"};
  ProofHeader header;
  ProofClaims claims;
  std::string signing_input;  // base64url(header) "." base64url(claims), folding removed
  std::string signature;      // the raw 64 signature bytes

  bool ok() const { return !error.has_value(); }
};

// Parses an Agent-Proof header value. Folding whitespace (SP, HTAB, CR, LF) anywhere in the value
// is removed first, since no base64url text contains any. Every refusal is proof_malformed; the
// signature is not checked here (see verify_ed25519).
ParsedProof parse_proof(std::string_view header_value);

// True only for a valid Ed25519 signature of signing_input under the raw 32-byte public key;
// wrong sizes and malformed keys are false, never an exception.
bool verify_ed25519(std::string_view public_key_raw32, std::string_view signing_input,
                    std::string_view signature64);

// proof_bad_signature unless proof parsed and its signature verifies under the key; nullopt when
// it does. A refused proof keeps its own error.
std::optional<ProofError> check_proof_signature(const ParsedProof& proof,
                                                std::string_view public_key_raw32);

// The 64-byte Ed25519 signature of signing_input. Throws std::invalid_argument for a key that is
// not 32 bytes.
std::string sign_ed25519(std::string_view private_key_raw32, std::string_view signing_input);

// The compact JWS of header and claims (a JSON object), signed with the raw private key: the
// reference signer's output. Throws std::invalid_argument when claims is not an object.
std::string make_compact_jws(const ProofHeader& header, const nlohmann::json& claims,
                             std::string_view private_key_raw32);

// The claims as the JSON object a signer puts in the token (irt omitted when empty).
nlohmann::json claims_to_json(const ProofClaims& claims);

struct Ed25519KeyPair {
  std::string public_raw;   // 32 bytes
  std::string private_raw;  // 32 bytes (the RFC 8032 seed)
};

// A fresh key pair from OpenSSL's CSPRNG.
Ed25519KeyPair generate_ed25519();
// The public key belonging to a raw private key; nullopt when it is not 32 bytes.
std::optional<std::string> ed25519_public_from_private(std::string_view private_key_raw32);

// PKCS#8 "PRIVATE KEY" and SubjectPublicKeyInfo "PUBLIC KEY" PEM, in memory. The *_to_pem
// functions throw std::invalid_argument for a key that is not 32 bytes; the *_from_pem functions
// return nullopt for anything but an unencrypted Ed25519 key (they never prompt for a passphrase).
std::string private_key_to_pem(std::string_view private_key_raw32);
std::optional<std::string> private_key_from_pem(std::string_view pem);
std::string public_key_to_pem(std::string_view public_key_raw32);
std::optional<std::string> public_key_from_pem(std::string_view pem);

}  // namespace agentgate::policy
