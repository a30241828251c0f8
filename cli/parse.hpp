// Flag value parsers shared by command groups: bad input throws UsageError (exit 2).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "policy/identity.hpp"

namespace agentgate::cli {

// "receive,reply" items (already split on commas).
policy::CapabilitySet parse_actions(const std::vector<std::string>& items);
// "ACTION=PATTERN" items.
std::map<policy::Capability, std::vector<std::string>> parse_targets(
    const std::vector<std::string>& items);

}  // namespace agentgate::cli
