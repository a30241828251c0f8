// Address normalisation and pattern matching.
#include "policy/address.hpp"

#include <algorithm>
#include <cctype>

namespace agentgate::policy {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_clean(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

}  // namespace

std::string normalize_address(std::string_view raw, const AddressRules& rules) {
  auto s = trim(raw);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  s = trim(s);
  auto at = s.rfind('@');
  if (at == std::string_view::npos)
    return rules.local_part_case_sensitive ? std::string(s) : lower(s);
  auto local = s.substr(0, at);
  auto domain = s.substr(at + 1);
  // "agents.example.com." is the same domain (MTAs strip the root dot when they route):
  // without this, a trailing dot would walk past every agent-domain check.
  if (domain.size() >= 2 && domain.back() == '.' && domain[domain.size() - 2] != '.')
    domain.remove_suffix(1);
  return (rules.local_part_case_sensitive ? std::string(local) : lower(local)) + "@" +
         lower(domain);
}

std::string_view domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

bool is_valid_address(std::string_view address) {
  auto at = address.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < address.size() &&
         address.find('@', at + 1) == std::string_view::npos && is_clean(address) &&
         address.size() <= 320;
}

std::vector<std::string> extract_mailboxes(std::string_view value, const AddressRules& rules) {
  std::vector<std::string> out;
  std::string part, angle;
  bool in_quote = false, in_angle = false, had_angle = false;
  int comment = 0;
  auto flush = [&] {
    auto text = had_angle ? angle : part;
    auto t = trim(text);
    if (!t.empty()) out.push_back(normalize_address(t, rules));
    part.clear();
    angle.clear();
    had_angle = false;
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < value.size())
        ++i;
      else if (c == '"')
        in_quote = false;
      continue;
    }
    if (comment > 0) {
      if (c == '\\' && i + 1 < value.size())
        ++i;
      else if (c == '(')
        ++comment;
      else if (c == ')')
        --comment;
      continue;
    }
    if (in_angle) {
      if (c == '>')
        in_angle = false;
      else
        angle += c;
      continue;
    }
    switch (c) {
      case '"':
        in_quote = true;
        break;
      case '(':
        comment = 1;
        break;
      case '<':
        if (had_angle) {  // a second angle-addr in one member: keep both, never drop one
          auto t = trim(angle);
          if (!t.empty()) out.push_back(normalize_address(t, rules));
        }
        in_angle = true;
        had_angle = true;
        angle.clear();
        break;
      case ',':
        flush();
        break;
      default:
        part += c;
    }
  }
  flush();
  return out;
}

std::optional<AddressPattern> AddressPattern::parse(std::string_view text,
                                                    const AddressRules& rules, std::string* error) {
  auto fail = [&](std::string_view why) -> std::optional<AddressPattern> {
    if (error) *error = "pattern '" + std::string(text) + "': " + std::string(why);
    return std::nullopt;
  };
  auto t = trim(text);
  auto at = t.find('@');
  if (at == std::string_view::npos || t.find('@', at + 1) != std::string_view::npos)
    return fail("must contain exactly one '@' (user@host, @domain, *@domain or *@*.domain)");
  if (!is_clean(t)) return fail("must not contain spaces or control characters");
  AddressPattern p;
  p.text_ = std::string(t);
  auto local = t.substr(0, at);
  auto domain = t.substr(at + 1);
  if (local == "*") local = {};
  if (local.find('*') != std::string_view::npos)
    return fail("'*' in a local part must stand alone");
  p.local_ = rules.local_part_case_sensitive ? std::string(local) : lower(local);
  if (domain.starts_with("*.")) {
    p.subdomains_ = true;
    domain.remove_prefix(2);
  }
  if (domain.empty() || domain.find('*') != std::string_view::npos || domain.starts_with('.'))
    return fail("domain must be a name or '*.' followed by a name");
  p.domain_ = lower(domain);
  return p;
}

bool AddressPattern::matches(std::string_view address) const {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  auto local = address.substr(0, at);
  auto domain = address.substr(at + 1);
  if (!local_.empty() && local != local_) return false;
  if (!subdomains_) return domain == domain_;
  return domain.size() > domain_.size() + 1 && domain.ends_with(domain_) &&
         domain[domain.size() - domain_.size() - 1] == '.';
}

}  // namespace agentgate::policy

namespace agentgate::policy {

bool AddressPattern::covers(const AddressPattern& o) const {
  if (!local_.empty() && o.local_ != local_) return false;  // a fixed mailbox covers only itself
  if (!subdomains_) return !o.subdomains_ && o.domain_ == domain_;
  auto& d = o.domain_;
  bool below = d.size() > domain_.size() + 1 && d.ends_with(domain_) &&
               d[d.size() - domain_.size() - 1] == '.';
  return below || (o.subdomains_ && d == domain_);
}

}  // namespace agentgate::policy
