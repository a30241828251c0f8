// Text encodings of an identity's list fields, shared by every SQL backend: one item per line
// (items are validated to contain no newline), and targets as "action=pattern" lines.
#pragma once

#include <chrono>
#include <cstdint>
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

// Times are stored as seconds since the epoch.
inline std::int64_t secs(policy::Time t) {
  return t.time_since_epoch().count();
}
inline policy::Time from_secs(std::int64_t s) {
  return policy::Time(std::chrono::seconds(s));
}

}  // namespace agentgate::registry
