// Flag value parsers shared by command groups.
#include "cli/parse.hpp"

#include <fmt/format.h>

#include "cli/context.hpp"

namespace agentgate::cli {

policy::CapabilitySet parse_actions(const std::vector<std::string>& items) {
  policy::CapabilitySet set;
  for (const auto& item : items) {
    auto cap = policy::parse_capability(item);
    if (!cap)
      throw UsageError(
          fmt::format("--actions: '{}' is not one of receive, reply, send, escalate, "
                      "invoke",
                      item));
    set.add(*cap);
  }
  return set;
}

std::map<policy::Capability, std::vector<std::string>> parse_targets(
    const std::vector<std::string>& items) {
  std::map<policy::Capability, std::vector<std::string>> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    auto cap =
        eq == std::string::npos ? std::nullopt : policy::parse_capability(item.substr(0, eq));
    if (!cap)
      throw UsageError(
          fmt::format("--target '{}' must be ACTION=PATTERN, e.g. reply=@example.com", item));
    out[*cap].push_back(item.substr(eq + 1));
  }
  return out;
}

}  // namespace agentgate::cli
