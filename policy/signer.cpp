#include "policy/signer.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "policy/address.hpp"
#include "policy/canonical.hpp"
#include "policy/digest.hpp"
#include "policy/facts.hpp"
#include "policy/jws.hpp"

namespace agentgate::policy {
namespace {

// The headers the proof signs: from, to (when present), subject, date, message-id, and cc,
// in-reply-to and references when present.
std::vector<std::string> signed_names(const ParsedMessage& m) {
  std::vector<std::string> names = {"from"};
  for (const char* optional : {"to", "cc"})
    if (header_value(m, optional)) names.push_back(optional);
  for (const char* required : {"subject", "date", "message-id"}) names.push_back(required);
  for (const char* optional : {"in-reply-to", "references"})
    if (header_value(m, optional)) names.push_back(optional);
  return names;
}

}  // namespace

std::string sign_proof(const ParsedMessage& msg, const SignRequest& r,
                       std::string_view private_key_raw32) {
  for (const char* required : {"from", "subject", "date", "message-id"})
    if (!header_value(msg, required))
      throw std::invalid_argument(std::string("the message has no ") + required +
                                  " header; the proof must sign it");
  auto from = extract_mailboxes(*header_value(msg, "from"));
  auto mail_from =
      r.mail_from.empty() ? (from.empty() ? "" : from.front()) : normalize_address(r.mail_from);
  std::vector<std::string> rcpts;
  for (const auto& rcpt : r.recipients) rcpts.push_back(normalize_address(rcpt));
  if (rcpts.empty()) rcpts = header_recipients(msg, {});
  if (rcpts.empty()) throw std::invalid_argument("no recipients: give --rcpt or To/Cc/Bcc headers");
  auto names = signed_names(msg);
  nlohmann::json claims = {
      {"iss", r.identity},
      {"aud", r.audience},
      {"iat", r.now},
      {"exp", r.now + r.lifetime},
      {"jti", r.jti},
      {"task", r.task},
      {"act", r.action},
      {"mf", mail_from},
      {"rth", recipients_hash(rcpts)},
      {"h", names},
      {"hh", headers_hash(msg.headers, names)},
      {"bh", base64url_digest(relaxed_body_hash(msg.body))},
  };
  auto irt = r.in_reply_to.empty() ? header_value(msg, "in-reply-to")
                                   : std::optional<std::string>(r.in_reply_to);
  if (r.action == "reply") {
    if (!irt) throw std::invalid_argument("a reply needs --in-reply-to or an In-Reply-To header");
    claims["irt"] = *irt;
  }
  return make_compact_jws({"EdDSA", "agent-proof+jwt", r.grant}, claims, private_key_raw32);
}

}  // namespace agentgate::policy
