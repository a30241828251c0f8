// The reference signer of SPEC section 4 as a pure function: the claims an Agent-Proof binds for
// a parsed message (mf, rth, h/hh, bh, irt) and the signed compact JWS. The caller supplies the
// time, the jti and the key, so `agentgatectl sign` and the benchmark corpus share one signer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/rfc5322.hpp"

namespace agentgate::policy {

struct SignRequest {
  std::string grant;     // kid
  std::string identity;  // iss
  std::string task;
  std::string audience;
  std::string action;                   // send|reply|escalate|invoke
  std::string mail_from;                // "" = the first From address
  std::vector<std::string> recipients;  // empty = To, Cc and Bcc
  std::string in_reply_to;              // "" = the In-Reply-To header (a reply needs one)
  std::int64_t now = 0;                 // iat, seconds since the epoch
  std::int64_t lifetime = 300;          // exp - iat
  std::string jti;
};

// The Agent-Proof token for msg. Throws std::invalid_argument naming what is missing (a signed
// header, recipients, the message a reply answers) or a bad key.
std::string sign_proof(const ParsedMessage& msg, const SignRequest& request,
                       std::string_view private_key_raw32);

}  // namespace agentgate::policy
