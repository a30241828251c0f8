// Per-SMTP-connection state, stored with smfi_setpriv. Connection facts live as long as the
// connection; message facts are reset at every MAIL, at ABORT (RSET, or the ABORT Postfix sends
// after end of message) and after end of message.
#pragma once

#include <optional>
#include <string>

#include "policy/canonical.hpp"
#include "policy/message.hpp"

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

  void reset_message() {
    facts = policy::MessageFacts{};
    facts.client_addr = client_addr;
    facts.helo = helo;
    agentgate_result_headers = 0;
    agent_proof_headers = 0;
    in_message = false;
    body.reset();
    header_bytes = 0;
  }
};

}  // namespace agentgate::milter
