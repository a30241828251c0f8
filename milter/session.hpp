// Per-SMTP-connection state, stored with smfi_setpriv. Connection facts live as long as the
// connection; message facts are reset at every MAIL, at ABORT (RSET, or the ABORT Postfix sends
// after end of message) and after end of message.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/config.hpp"
#include "policy/canonical.hpp"
#include "policy/message.hpp"
#include "registry/snapshot.hpp"

namespace agentgate::milter {

struct Session {
  std::string client_addr;
  std::string helo;
  policy::MessageFacts facts;
  int agentgate_result_headers = 0;  // arriving copies, removed at end of message
  int agent_proof_headers = 0;
  bool in_message = false;
  std::optional<policy::RelaxedBodyHasher> body;  // only for mail from a governed sender
  std::size_t header_bytes = 0;                   // bound on facts.headers
  // Pinned at MAIL: a reload (SIGHUP, a new registry generation) does not change the rules
  // under an open transaction. Identity and grant status are re-read at end of message anyway.
  std::shared_ptr<const common::Config> config;
  std::shared_ptr<const registry::Snapshot> snapshot;
  unsigned long no_reply = 0;  // SMFIP_NR_* steps the MTA agreed not to wait for
  // The stage of an internal error in a step without a reply; the next RCPT or end of message
  // tempfails. A connect failure lasts for the connection, any other for the message.
  std::string deferred_error;

  void reset_message() {
    if (deferred_error != "connect") deferred_error.clear();
    facts = policy::MessageFacts{};
    facts.client_addr = client_addr;
    facts.helo = helo;
    agentgate_result_headers = 0;
    agent_proof_headers = 0;
    in_message = false;
    body.reset();
    header_bytes = 0;
    config.reset();
    snapshot.reset();
  }
};

}  // namespace agentgate::milter
