// Sendmail macros as Postfix's smtpd sends them: the main.cf default name list per stage (or
// the milter's own list from SMFIF_SETSYMLIST), each name looked up in the session, undefined
// names left out. Like milter_macro_lookup(), the SMFIC_MACRO packet is sent even when no name
// has a value. Pure: values come from MacroContext, nothing reads the clock or the network.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "protocol.hpp"

namespace agentgate::bench {

// Postfix 3.7 defaults (postconf -d milter_*_macros), indexed by SMFIM_*.
const std::array<std::string_view, kMacroStages>& postfix_default_macro_lists();

// Per connection: the names to send at each stage.
struct MacroPlan {
  std::array<std::vector<std::string>, kMacroStages> names;
};
MacroPlan make_macro_plan(const Negotiation& negotiation);

struct ConnectionMacros {
  std::string hostname;  // j, {daemon_name}
  std::string daemon_addr;
  std::string version;  // v
  std::string client;   // _
  std::string client_addr;
  std::string client_name;
  std::string client_port;
};

struct MessageMacros {
  std::string_view queue_id;  // i
  std::string_view login;     // {auth_authen}; empty = not authenticated
  std::string_view mail_addr;
  std::string_view mail_host;
};

struct RecipientMacros {
  std::string_view addr;
  std::string_view host;
};

// What is known at the moment of a stage: the message and recipient are absent before MAIL.
struct MacroContext {
  const ConnectionMacros* connection = nullptr;
  const MessageMacros* message = nullptr;
  const RecipientMacros* recipient = nullptr;
};

// Appends "name\0value\0" for each name of `names` that has a value in `context`.
void append_macro_pairs(std::string& out, const std::vector<std::string>& names,
                        const MacroContext& context);

// Appends one SMFIC_MACRO packet for the step `command` carrying the pairs `pairs`.
void append_macro_packet(std::string& out, char command, std::string_view pairs);

}  // namespace agentgate::bench
