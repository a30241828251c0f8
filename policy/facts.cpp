#include "policy/facts.hpp"

#include <strings.h>

namespace agentgate::policy {
namespace {

bool is(std::string_view name, const char* wanted) {
  return name.size() == std::char_traits<char>::length(wanted) &&
         strncasecmp(name.data(), wanted, name.size()) == 0;
}

std::string bounded(std::string_view v) {
  return std::string(v.substr(0, 998));
}

}  // namespace

HeaderKind add_header(MessageFacts& f, std::string_view name, std::string_view value,
                      const AddressRules& rules, bool keep, std::size_t& kept_bytes) {
  if (is(name, "From")) {
    auto boxes = extract_mailboxes(value, rules);
    f.from_addresses.insert(f.from_addresses.end(), boxes.begin(), boxes.end());
    f.participants.insert(f.participants.end(), boxes.begin(), boxes.end());
    if (boxes.empty()) f.from_addresses.emplace_back();  // an empty From still counts
  } else if (is(name, "Message-ID")) {
    f.message_id = bounded(value);
  } else if (is(name, "Subject")) {
    f.subject = bounded(value);
  } else if (is(name, "In-Reply-To")) {
    f.in_reply_to = bounded(value);
  } else if (is(name, "To") || is(name, "Cc")) {
    auto boxes = extract_mailboxes(value, rules);
    f.participants.insert(f.participants.end(), boxes.begin(), boxes.end());
  } else if (is(name, "AgentGate-Result")) {
    return HeaderKind::agentgate_result;
  } else if (is(name, "Agent-Proof")) {
    if (f.agent_proofs.size() < kMaxAgentProofs)
      f.agent_proofs.emplace_back(value.substr(0, 16384));
    return HeaderKind::agent_proof;
  }
  if (keep && f.headers.size() < kMaxKeptHeaders && kept_bytes < kMaxKeptHeaderBytes) {
    kept_bytes += value.size() + name.size();
    f.headers.emplace_back(name, value);
  }
  return HeaderKind::ordinary;
}

std::vector<std::string> header_recipients(const ParsedMessage& m, const AddressRules& rules) {
  std::vector<std::string> out;
  for (const auto& [name, value] : m.headers) {
    if (!is(name, "To") && !is(name, "Cc") && !is(name, "Bcc")) continue;
    for (auto& a : extract_mailboxes(value, rules)) out.push_back(a);
  }
  return out;
}

}  // namespace agentgate::policy
