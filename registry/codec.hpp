// Text encodings of an identity's list fields, shared by every SQL backend: one item per line
// (items are validated to contain no newline), and targets as "action=pattern" lines.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "policy/identity.hpp"

namespace agentgate::registry {

std::string join_lines(const std::vector<std::string>& items);
std::vector<std::string> split_lines(std::string_view text);
std::string encode_targets(const std::map<policy::Capability, std::vector<std::string>>& targets);
std::map<policy::Capability, std::vector<std::string>> decode_targets(std::string_view text);

}  // namespace agentgate::registry
