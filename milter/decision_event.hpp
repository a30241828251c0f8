// Turns one decision into its ECS event (SPEC section 6), its one-line log summary, its SMTP
// reply text and its AgentGate-Result header. Formatting only: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/message.hpp"
#include "policy/settings.hpp"

namespace agentgate::milter {

struct Decision {
  std::string event_id;
  std::string stage;  // "rcpt" or "eom"
  const policy::MessageFacts* facts = nullptr;
  policy::Verdict verdict;
  std::vector<std::string> to;  // recipients this decision is about
};

// A unique, time-ordered id: 12 hex digits of milliseconds then 8 random hex digits.
std::string make_event_id();

nlohmann::json ecs_event(const Decision& d, const policy::PolicySettings& settings,
                         std::string_view hostname);
std::string log_line(const Decision& d);
// "agentgate: identity_revoked: identity support-bot is revoked (event ID)", safe for
// smfi_setreply: no CR/LF, '%' doubled, bounded length.
std::string reply_text(const Decision& d);
// Value of the AgentGate-Result header for an accepted or quarantined governed message.
std::string result_header(const Decision& d, const policy::PolicySettings& settings);
std::string_view direction_name(unsigned directions);

}  // namespace agentgate::milter
