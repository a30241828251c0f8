// List field encodings.
#include "registry/codec.hpp"

#include "registry/store.hpp"

namespace agentgate::registry {

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += '\n';
    out += i;
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string encode_targets(const std::map<policy::Capability, std::vector<std::string>>& targets) {
  std::vector<std::string> lines;
  for (const auto& [cap, patterns] : targets)
    for (const auto& p : patterns) lines.push_back(std::string(policy::to_string(cap)) + "=" + p);
  return join_lines(lines);
}

std::map<policy::Capability, std::vector<std::string>> decode_targets(std::string_view text) {
  std::map<policy::Capability, std::vector<std::string>> out;
  for (const auto& line : split_lines(text)) {
    auto eq = line.find('=');
    auto cap =
        eq == std::string::npos ? std::nullopt : policy::parse_capability(line.substr(0, eq));
    if (!cap) throw StoreError("corrupt targets column: '" + line + "'");
    out[*cap].push_back(line.substr(eq + 1));
  }
  return out;
}

}  // namespace agentgate::registry
