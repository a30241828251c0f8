// Address normalisation and the recipient/sender patterns of SPEC section 3: what each pattern
// form matches, where subdomain matching stops, how case is handled, and what is refused.
#include <string>

#include <doctest/doctest.h>

#include "policy/address.hpp"

namespace agentgate::policy {
namespace {

const AddressRules kInsensitive{};
const AddressRules kSensitive{.local_part_case_sensitive = true};

AddressPattern pattern(const char* text, const AddressRules& rules = kInsensitive) {
  std::string error;
  auto p = AddressPattern::parse(text, rules, &error);
  REQUIRE_MESSAGE(p.has_value(), error);
  return *p;
}

TEST_CASE("address: patterns match exactly the addresses their form names") {
  struct Row {
    const char* pattern;
    const char* address;
    bool match;
    const char* why;
  };
  const Row rows[] = {
      {"user@host.example", "user@host.example", true, "exact"},
      {"user@host.example", "other@host.example", false, "exact: other local part"},
      {"user@host.example", "user@sub.host.example", false, "exact: no subdomains"},
      {"@example.com", "anyone@example.com", true, "@domain: any mailbox"},
      {"@example.com", "anyone@sub.example.com", false, "@domain: not a subdomain"},
      {"@example.com", "anyone@example.com.evil.org", false, "@domain: not a prefix"},
      {"*@example.com", "anyone@example.com", true, "*@domain: any mailbox"},
      {"*@example.com", "anyone@notexample.com", false, "*@domain: not a suffix"},
      {"*@*.example.com", "a@mail.example.com", true, "*@*.domain: subdomain"},
      {"*@*.example.com", "a@deep.mail.example.com", true, "*@*.domain: deeper subdomain"},
      {"*@*.example.com", "a@example.com", false, "*@*.domain: not the domain itself"},
      {"*@*.example.com", "a@evil-example.com", false, "*@*.domain: suffix lookalike"},
      {"*@*.example.com", "a@evilexample.com", false, "*@*.domain: glued lookalike"},
      {"*@*.example.com", "a@.example.com", false, "*@*.domain: empty label"},
      {"*@*.example.com", "a@mail.example.com.evil.org", false, "*@*.domain: not a prefix"},
      {"ops@*.example.com", "ops@eu.example.com", true, "user@*.domain: subdomain"},
      {"ops@*.example.com", "dev@eu.example.com", false, "user@*.domain: other user"},
      {"ops@*.example.com", "ops@example.com", false, "user@*.domain: not the domain itself"},
      {"user@host.example", "userhost.example", false, "no '@' in the address"},
      {"@example.com", "", false, "null sender"},
  };
  for (const auto& row : rows) {
    SUBCASE((std::string(row.why) + ": " + row.pattern + " vs " + row.address).c_str()) {
      CHECK(pattern(row.pattern).matches(row.address) == row.match);
    }
  }
}

TEST_CASE("address: domains are case-insensitive; local parts follow AddressRules") {
  struct Row {
    const char* pattern;
    const char* raw;
    bool sensitive;
    bool match;
    const char* why;
  };
  const Row rows[] = {
      {"User@Example.COM", "user@example.com", false, true, "pattern case folded"},
      {"user@example.com", "USER@EXAMPLE.COM", false, true, "address case folded"},
      {"*@*.Example.com", "a@MAIL.example.COM", false, true, "subdomain pattern case folded"},
      {"User@example.com", "User@EXAMPLE.com", true, true, "sensitive: same local, domain folded"},
      {"User@example.com", "user@example.com", true, false, "sensitive: local case differs"},
      {"user@example.com", "USER@example.com", true, false, "sensitive: address local differs"},
      {"@Example.com", "Anyone@example.COM", true, true, "sensitive: domain still folded"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.why) {
      const auto& rules = row.sensitive ? kSensitive : kInsensitive;
      CHECK(pattern(row.pattern, rules).matches(normalize_address(row.raw, rules)) == row.match);
    }
  }
}

TEST_CASE("address: invalid patterns are refused with a message naming the pattern") {
  struct Row {
    const char* pattern;
    const char* says;
  };
  const Row rows[] = {
      {"", "exactly one '@'"},
      {"example.com", "exactly one '@'"},
      {"a@b@example.com", "exactly one '@'"},
      {"user@", "domain must be"},
      {"@", "domain must be"},
      {"*@", "domain must be"},
      {"*@*", "domain must be"},
      {"*@*.", "domain must be"},
      {"*@.example.com", "domain must be"},
      {"*@*.*.example.com", "domain must be"},
      {"*@ex*ample.com", "domain must be"},
      {"us*er@example.com", "'*' in a local part"},
      {"**@example.com", "'*' in a local part"},
      {"a b@example.com", "spaces or control"},
      {"a\tb@example.com", "spaces or control"},
  };
  for (const auto& row : rows) {
    SUBCASE((std::string("'") + row.pattern + "'").c_str()) {
      std::string error;
      auto p = AddressPattern::parse(row.pattern, kInsensitive, &error);
      CHECK_FALSE(p.has_value());
      CHECK(error.find(row.says) != std::string::npos);
      CHECK(error.find(std::string("'") + row.pattern + "'") != std::string::npos);
    }
  }
  SUBCASE("a null error pointer is allowed") {
    CHECK_FALSE(AddressPattern::parse("nope", kInsensitive, nullptr).has_value());
  }
}

TEST_CASE("address: a pattern keeps its trimmed text") {
  CHECK(pattern("  *@*.example.com ").text() == "*@*.example.com");
  CHECK(pattern("  *@*.example.com ").matches("a@b.example.com"));
}

TEST_CASE("address: normalize_address strips brackets and whitespace and folds case") {
  struct Row {
    const char* raw;
    bool sensitive;
    const char* normalized;
  };
  const Row rows[] = {
      {"user@example.com", false, "user@example.com"},
      {"<User@Example.COM>", false, "user@example.com"},
      {"  <user@example.com>\t", false, "user@example.com"},
      {"< user@example.com >", false, "user@example.com"},
      {"<>", false, ""},
      {"  <>  ", false, ""},
      {"", false, ""},
      {"Mixed.Case@Example.Org", true, "Mixed.Case@example.org"},
      {"<Mixed@EXAMPLE.org>", true, "Mixed@example.org"},
      {"Postmaster", false, "postmaster"},
      {"Postmaster", true, "Postmaster"},
      {"\"a@b\"@Example.com", false, "\"a@b\"@example.com"},
      {"<unterminated@example.com", false, "<unterminated@example.com"},
  };
  for (const auto& row : rows) {
    SUBCASE((std::string("'") + row.raw + (row.sensitive ? "' sensitive" : "'")).c_str()) {
      CHECK(normalize_address(row.raw, row.sensitive ? kSensitive : kInsensitive) ==
            row.normalized);
    }
  }
}

TEST_CASE("address: domain_of and is_valid_address") {
  CHECK(domain_of("user@example.com") == "example.com");
  CHECK(domain_of("\"a@b\"@example.com") == "example.com");
  CHECK(domain_of("postmaster").empty());
  struct Row {
    std::string address;
    bool valid;
    const char* why;
  };
  const Row rows[] = {
      {"a@b", true, "minimal"},
      {"first.last+tag@sub.example.com", true, "ordinary"},
      {"@example.com", false, "empty local part"},
      {"user@", false, "empty domain"},
      {"user", false, "no '@'"},
      {"a@b@c", false, "two '@'"},
      {"a b@example.com", false, "space"},
      {"a@exa\x01mple.com", false, "control character"},
      {"a@exa\x7fmple.com", false, "DEL"},
      {std::string(64, 'a') + "@" + std::string(255, 'b'), true, "320 characters"},
      {std::string(65, 'a') + "@" + std::string(255, 'b'), false, "321 characters"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.why) {
      CHECK(is_valid_address(row.address) == row.valid);
    }
  }
}

}  // namespace
}  // namespace agentgate::policy
