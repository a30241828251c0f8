// What the engine decides on: the facts the MTA adapter gathered about one SMTP transaction,
// and the Verdict it returns. Both are plain values; the engine never sees libmilter.
#pragma once

#include <string>
#include <vector>

#include "policy/identity.hpp"
#include "policy/reason.hpp"

namespace agentgate::policy {

struct MessageFacts {
  std::string client_addr;
  std::string helo;
  std::string auth_login;    // {auth_authen}: the SASL login, as the MTA reports it
  std::string cert_subject;  // {cert_subject}: verified TLS client certificate subject
  std::string queue_id;
  std::string mail_from;                    // normalised envelope sender ("" = null sender)
  std::vector<std::string> recipients;      // normalised, those accepted at RCPT
  std::vector<std::string> from_addresses;  // mailboxes of the From: header(s), normalised
  std::string message_id;
  std::string subject;
  std::string in_reply_to;
  std::vector<std::string> agent_proofs;  // raw Agent-Proof header values
  Time now{};
};

enum Direction : unsigned { kOutbound = 1, kInbound = 2 };

struct Verdict {
  Action action = Action::accept;        // what the MTA is told (monitor mode: always accept)
  Action would_action = Action::accept;  // what enforce mode does
  std::vector<Reason> reasons;           // in the order the checks found them
  unsigned directions = 0;               // kOutbound | kInbound; 0 = not governed
  std::string sender_identity;           // outbound: the sender's identity id
  std::vector<std::string> recipient_identities;  // inbound: agent recipients' identity ids
  bool untrusted = false;  // inbound sender not in some agent recipient's accept_from
  std::string detail;      // one short sentence for the SMTP reply and the log

  bool governed() const { return directions != 0; }
};

}  // namespace agentgate::policy
