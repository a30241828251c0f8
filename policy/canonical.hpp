// RFC 6376 "relaxed" canonicalization of headers and body, and the recipient digest, as the
// Agent-Proof claims hh, bh and rth bind them (SPEC section 4). Pure: bytes in, digest out. The
// body hasher streams with bounded memory so the milter can feed it chunk by chunk; it must never
// buffer the body, read a clock, log, or depend on where the chunk boundaries fall.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/digest.hpp"

namespace agentgate::policy {

// "name:value\r\n" in the relaxed form of RFC 6376 section 3.4.2: the name lower-cased, CR and LF
// removed (unfolding), every run of SP/HTAB turned into one SP, and whitespace around the colon
// and at the end of the value deleted.
std::string relaxed_header(std::string_view name, std::string_view value);

// The relaxed canonical form of the headers named by signed_names, in that order. Names compare
// case-insensitively; a name listed n times takes the n-th instance counting from the bottom of
// headers_in_order (as DKIM does); a name with no instance left contributes nothing.
std::string relaxed_headers(
    const std::vector<std::pair<std::string, std::string>>& headers_in_order,
    const std::vector<std::string>& signed_names);

// RFC 6376 section 3.4.4 relaxed body canonicalization fed to SHA-256 as the body streams by.
// Bare LF is read as a line ending like CRLF; a CR not followed by LF is an ordinary character.
// Memory is constant: trailing empty lines are held as a counter, not as bytes. The hash does not
// depend on how the body is split into update() calls.
class RelaxedBodyHasher {
 public:
  RelaxedBodyHasher();
  ~RelaxedBodyHasher();
  RelaxedBodyHasher(const RelaxedBodyHasher&) = delete;
  RelaxedBodyHasher& operator=(const RelaxedBodyHasher&) = delete;
  RelaxedBodyHasher(RelaxedBodyHasher&&) noexcept;
  RelaxedBodyHasher& operator=(RelaxedBodyHasher&&) noexcept;

  void update(std::string_view chunk);
  // The digest of the canonical body. The hasher is spent afterwards; a further update() or
  // finish() throws std::logic_error.
  Sha256 finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The relaxed body digest of a body held whole (tests, the reference signer).
Sha256 relaxed_body_hash(std::string_view body);

// Unpadded base64url of a digest: the textual form of hh, bh and rth.
std::string base64url_digest(const Sha256& digest);

// hh: base64url SHA-256 of relaxed_headers(headers_in_order, signed_names).
std::string headers_hash(const std::vector<std::pair<std::string, std::string>>& headers_in_order,
                         const std::vector<std::string>& signed_names);

// rth: base64url SHA-256 of the recipients, ASCII lower-cased, sorted and joined by "\n". The
// caller passes normalised addresses (no angle brackets); duplicates are kept as given.
std::string recipients_hash(std::vector<std::string> recipients);

}  // namespace agentgate::policy
