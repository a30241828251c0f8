// Policy settings: the [policy] section of the config as the engine sees it. Plain data, built
// once at load and never changed afterwards (a reload builds a new one).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "policy/address.hpp"
#include "policy/reason.hpp"

namespace agentgate::policy {

enum class Mode { enforce, monitor };

struct PolicySettings {
  Mode mode = Mode::enforce;
  std::vector<std::string> agent_domains;  // lower-case
  std::vector<std::string> agent_inboxes;  // normalised
  std::string audience;
  bool require_proof = true;
  std::chrono::seconds clock_skew{60};
  std::string gateway;  // authserv-id in AgentGate-Result
  AddressRules address_rules;
  std::map<Reason, Action> actions;  // only the overrides

  Action action_for(Reason r) const {
    auto it = actions.find(r);
    return it == actions.end() ? default_action(r) : it->second;
  }
  bool in_agent_domain(std::string_view address) const;
  bool listed_inbox(std::string_view address) const;
};

}  // namespace agentgate::policy
