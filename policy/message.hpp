// What the engine decides on: the facts the MTA adapter gathered about one SMTP transaction,
// and the Verdict it returns. Both are plain values; the engine never sees libmilter.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
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
  // Every other header field in arrival order (bounded by the adapter), for the proof's hh.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body_hash;                  // base64url SHA-256 of the relaxed canonical body
  std::vector<std::string> participants;  // From, To and Cc mailboxes (the thread ledger)
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
  // The task context a valid proof established; the adapter then applies quotas and replay.
  std::string grant;
  std::string task;
  std::string jti;
  std::string proof_digest;
  Time proof_expires_at{};
  std::size_t proven_recipients = 0;
  Capability proven_action = Capability::send;
  std::string in_reply_to;  // the proof's irt

  bool governed() const { return directions != 0; }
};

}  // namespace agentgate::policy
