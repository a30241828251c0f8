// Splitting an RFC 5322 message into its header fields and body, for the reference signer and
// `explain`. Pure and bounded: bytes in, fields out. Folded values keep their line breaks (the
// relaxed canonicalization unfolds them); a malformed header section is reported, not guessed at.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentgate::policy {

struct ParsedMessage {
  std::vector<std::pair<std::string, std::string>> headers;  // name, value (leading WSP trimmed)
  std::string body;
  std::string eol = "\r\n";  // the line ending the message uses ("\n" for Unix files)
};

// nullopt when a header line is neither a field nor a continuation, or limits are exceeded
// (1,000 fields, 1 MiB of header section).
std::optional<ParsedMessage> parse_message(std::string_view raw, std::string* error);

// The value of the first field with this name (case-insensitive), if any.
std::optional<std::string> header_value(const ParsedMessage& m, std::string_view name);

}  // namespace agentgate::policy
