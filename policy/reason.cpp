// Parsing and defaults for reason codes and actions.
#include "policy/reason.hpp"

namespace agentgate::policy {

std::optional<Reason> parse_reason(std::string_view name) {
  for (size_t i = 0; i < kReasonNames.size(); ++i) {
    if (kReasonNames[i] == name) return static_cast<Reason>(i);
  }
  return std::nullopt;
}

std::optional<Action> parse_action(std::string_view name) {
  for (auto a : {Action::accept, Action::quarantine, Action::tempfail, Action::reject}) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}

Action default_action(Reason r) {
  switch (r) {
    case Reason::sender_not_trusted:
      return Action::quarantine;
    case Reason::store_unavailable:
    case Reason::internal_error:
      return Action::tempfail;
    default:
      return Action::reject;
  }
}

}  // namespace agentgate::policy
