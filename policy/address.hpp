// Mail addresses and the recipient/sender patterns of the registry (SPEC section 3).
// Pure string functions: no DNS, no I/O. Addresses are compared in normalised form.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgate::policy {

// How local parts compare. RFC 5321 says local parts are case-sensitive, but almost every real
// mailbox treats them case-insensitively; the default follows practice and config can change it.
struct AddressRules {
  bool local_part_case_sensitive = false;
};

// Strips surrounding whitespace and angle brackets and lower-cases the domain (and the local part
// unless rules say otherwise). Returns "" for the null sender "<>".
std::string normalize_address(std::string_view raw, const AddressRules& rules = {});

// The domain of a normalised address ("" when there is no '@').
std::string_view domain_of(std::string_view address);

// True for a syntactically plausible address: one '@', non-empty local part and domain, no
// whitespace or control characters.
bool is_valid_address(std::string_view address);

// The mailboxes of an address-list header value such as From: ("Name" <a@b>, c@d (comment)),
// normalised. Quoted strings and comments are honoured; group syntax is not expanded.
std::vector<std::string> extract_mailboxes(std::string_view header_value,
                                           const AddressRules& rules = {});

// A pattern: `user@host` (exact), `@domain` or `*@domain` (any mailbox at that domain),
// `*@*.domain` (any mailbox at any subdomain of domain, not domain itself), `user@*.domain`.
class AddressPattern {
 public:
  static std::optional<AddressPattern> parse(std::string_view text, const AddressRules& rules,
                                             std::string* error);
  bool matches(std::string_view normalized_address) const;
  // True when every address `other` matches, this pattern matches too: a grant's targets may
  // narrow the identity's, never widen them.
  bool covers(const AddressPattern& other) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string local_;   // "" = any local part
  std::string domain_;  // exact domain, or the suffix after "*." when subdomains_
  bool subdomains_ = false;
};

}  // namespace agentgate::policy
