// RFC 5322 header section splitting.
#include "policy/rfc5322.hpp"

#include <strings.h>

namespace agentgate::policy {

std::optional<ParsedMessage> parse_message(std::string_view raw, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<ParsedMessage> {
    if (error) *error = why;
    return std::nullopt;
  };
  ParsedMessage m;
  auto first_nl = raw.find('\n');
  m.eol = first_nl != std::string_view::npos && first_nl > 0 && raw[first_nl - 1] == '\r' ? "\r\n"
                                                                                          : "\n";
  size_t pos = 0;
  while (pos < raw.size()) {
    auto nl = raw.find('\n', pos);
    auto end = nl == std::string_view::npos ? raw.size() : nl;
    auto line = raw.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl == std::string_view::npos ? raw.size() : nl + 1;
    if (line.empty()) {
      m.body = std::string(raw.substr(pos));
      return m;
    }
    if (pos > (1u << 20)) return fail("header section larger than 1 MiB");
    if (line.front() == ' ' || line.front() == '\t') {
      if (m.headers.empty()) return fail("continuation line before the first header field");
      m.headers.back().second += "\r\n";
      m.headers.back().second += line;
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return fail("a header line without a field name and colon");
    auto name = line.substr(0, colon);
    for (unsigned char c : name)
      if (c <= ' ' || c >= 0x7f) return fail("a header field name with invalid characters");
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    if (m.headers.size() >= 1000) return fail("more than 1,000 header fields");
    m.headers.emplace_back(std::string(name), std::string(value));
  }
  return m;  // headers only, no body
}

std::optional<std::string> header_value(const ParsedMessage& m, std::string_view name) {
  for (const auto& [n, v] : m.headers)
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
  return std::nullopt;
}

}  // namespace agentgate::policy
