// Header facts, gathered the same way by the milter (one header callback at a time) and by
// `agentgatectl explain` (a whole message file), so an offline explanation sees exactly what
// the gateway would. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address.hpp"
#include "policy/message.hpp"
#include "policy/rfc5322.hpp"

namespace agentgate::policy {

// What the caller must do about a header beyond the facts recorded here.
enum class HeaderKind { ordinary, agent_proof, agentgate_result };

// Bounds on the header fields kept for the proof's hh: an oversized header section cannot
// match a proof anyway.
inline constexpr std::size_t kMaxKeptHeaders = 512;
inline constexpr std::size_t kMaxKeptHeaderBytes = 256u << 10;
inline constexpr std::size_t kMaxAgentProofs = 8;

// Records one header field in `facts`. `keep_fields`: keep every ordinary field for the proof's
// hh (only mail from governed senders); `kept_bytes` carries the bound across calls.
HeaderKind add_header(MessageFacts& facts, std::string_view name, std::string_view value,
                      const AddressRules& rules, bool keep_fields, std::size_t& kept_bytes);

// Envelope recipients as a message's own headers name them: the To, Cc and Bcc mailboxes.
std::vector<std::string> header_recipients(const ParsedMessage& m, const AddressRules& rules);

}  // namespace agentgate::policy
