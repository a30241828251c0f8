// Agent-domain and listed-inbox membership.
#include "policy/settings.hpp"

#include <algorithm>

namespace agentgate::policy {

bool PolicySettings::in_agent_domain(std::string_view address) const {
  auto domain = domain_of(address);
  return !domain.empty() &&
         std::find(agent_domains.begin(), agent_domains.end(), domain) != agent_domains.end();
}

bool PolicySettings::listed_inbox(std::string_view address) const {
  return std::find(agent_inboxes.begin(), agent_inboxes.end(), address) != agent_inboxes.end();
}

}  // namespace agentgate::policy
