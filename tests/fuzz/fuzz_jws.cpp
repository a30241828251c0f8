// libFuzzer target for parse_proof: hostile Agent-Proof values must be refused as proof_malformed
// or accepted with every documented bound holding, and never crash, hang or leak. An input that
// starts with '{' is read as "<header JSON>\n<claims JSON>" and wrapped into a token first, so the
// JSON and claim checks are reached without the fuzzer having to discover base64url.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/digest.hpp"
#include "policy/jws.hpp"

namespace {

using namespace agentgate::policy;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

std::string wrap(std::string_view json_pair) {
  auto nl = json_pair.find('\n');
  auto header = json_pair.substr(0, nl);
  auto claims = nl == std::string_view::npos ? std::string_view() : json_pair.substr(nl + 1);
  return base64url_encode(header) + "." + base64url_encode(claims) + "." +
         base64url_encode(std::string(kEd25519SignatureSize, '\x5a'));
}

void check_accepted(const ParsedProof& p) {
  require(p.signature.size() == kEd25519SignatureSize);
  require(p.signing_input.size() < kMaxProofToken);
  require(p.header.alg == kProofAlg && p.header.typ == kProofTyp);
  require(!p.header.kid.empty() && p.header.kid.size() <= kMaxKidLength);
  require(p.claims.h.size() <= kMaxSignedHeaders);
  for (const auto* s : {&p.claims.iss, &p.claims.aud, &p.claims.jti, &p.claims.task, &p.claims.act,
                        &p.claims.irt, &p.claims.mf, &p.claims.rth, &p.claims.hh, &p.claims.bh})
    require(s->size() <= kMaxClaimString);
  require(p.claims.iat >= 0 && p.claims.exp >= 0);
  // Parsing is a function of the signing input and signature alone.
  auto again = parse_proof(p.signing_input + "." + base64url_encode(p.signature));
  require(again.ok() && again.signing_input == p.signing_input);
  (void)verify_ed25519(std::string(kEd25519KeySize, '\x01'), p.signing_input, p.signature);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string token = !input.empty() && input.front() == '{' ? wrap(input) : std::string(input);
  auto p = parse_proof(token);
  if (p.ok()) {
    check_accepted(p);
  } else {
    require(p.error->reason == Reason::proof_malformed && !p.error->detail.empty());
    require(p.signing_input.empty() && p.signature.empty());
  }
  return 0;
}
