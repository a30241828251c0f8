// extract_mailboxes: the mailboxes of a From:-style address-list header value, normalised, as the
// header_from_mismatch rule sees them. Quoted strings and comments must not split or leak into
// addresses; group syntax is not expanded (documented below); hostile input stays bounded.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "policy/address.hpp"

namespace agentgate::policy {
namespace {

using Boxes = std::vector<std::string>;

std::string joined(const Boxes& boxes) {
  std::string out;
  for (const auto& b : boxes) out += (out.empty() ? "" : " | ") + b;
  return "[" + out + "]";
}

TEST_CASE("extract_mailboxes: address-list header values yield their normalised mailboxes") {
  struct Row {
    const char* name;
    const char* value;
    Boxes expected;
  };
  const Row rows[] = {
      {"bare address", "a@b", {"a@b"}},
      {"quoted display name", "\"Name\" <a@b>", {"a@b"}},
      {"trailing comment", "a@b (comment)", {"a@b"}},
      {"comment with a fake address and nested parens", "a@b (x@evil (really) <y@evil>)", {"a@b"}},
      {"unquoted display name, upper case normalised", "Name <A@B.COM>", {"a@b.com"}},
      {"two mailboxes", "a@b, c@d", {"a@b", "c@d"}},
      {"two named mailboxes", "A <a@b>, \"C\" <c@d>", {"a@b", "c@d"}},
      {"quoted name holding a comma and angle brackets", "\"Doe, J <x>\" <j@d>", {"j@d"}},
      {"quoted name holding an escaped quote", "\"J \\\"Doe, <x>\\\"\" <j@d>", {"j@d"}},
      {"folded whitespace around the address", "\r\n\t Name\r\n <a@b>\t", {"a@b"}},
      {"empty value", "", {}},
      {"whitespace only", "  \t ", {}},
      {"empty list members are skipped", "a@b, , c@d,", {"a@b", "c@d"}},
      {"angle-addr without display name", "<a@b>", {"a@b"}},
      {"text after the angle-addr is ignored", "Name <a@b> trailing", {"a@b"}},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(joined(extract_mailboxes(row.value)) == joined(row.expected));
    }
  }
}

TEST_CASE("extract_mailboxes: local-part case follows AddressRules") {
  AddressRules sensitive{.local_part_case_sensitive = true};
  CHECK(joined(extract_mailboxes("Name <John.Doe@Example.COM>", sensitive)) ==
        "[John.Doe@example.com]");
  CHECK(joined(extract_mailboxes("Name <John.Doe@Example.COM>")) == "[john.doe@example.com]");
}

TEST_CASE("extract_mailboxes: group syntax is not expanded (documented behaviour)") {
  // RFC 5322 groups ("display-name: mailbox-list ;") are not parsed: the ':' and ';' stay in the
  // text, so a group yields strings that are not the group's mailboxes. For From this is safe:
  // such a value never equals the envelope sender, so header_from_mismatch refuses it.
  SUBCASE("a group of two: split at the comma, the group text kept") {
    auto boxes = extract_mailboxes("Team: a@b, c@d;");
    CHECK(joined(boxes) == "[team: a@b | c@d;]");
    CHECK(boxes != Boxes{"a@b", "c@d"});
  }
  SUBCASE("an empty group is one non-address string") {
    CHECK(joined(extract_mailboxes("undisclosed-recipients:;")) == "[undisclosed-recipients:;]");
  }
  SUBCASE("a group member in angle brackets is taken from the brackets") {
    CHECK(joined(extract_mailboxes("Team: A <a@b>;")) == "[a@b]");
  }
}

TEST_CASE("extract_mailboxes: a second angle-addr in one member is not dropped") {
  // "<a> <b>" yields both: a From header "<ceo@example.com> <sales@agents.example.com>" must
  // not pass header_from_mismatch for sales-bot while a reader may be shown ceo@example.com.
  CHECK(joined(extract_mailboxes("<ceo@example.com> <sales@agents.example.com>")) ==
        "[ceo@example.com | sales@agents.example.com]");
  CHECK(joined(extract_mailboxes("CEO <ceo@example.com> Sales <sales@agents.example.com>")) ==
        "[ceo@example.com | sales@agents.example.com]");
}

TEST_CASE("extract_mailboxes: unterminated constructs and long input stay bounded") {
  struct Row {
    const char* name;
    std::string value;
    Boxes expected;
  };
  const Row rows[] = {
      {"unterminated quote swallows the rest", "\"Name <a@b>, c@d", {}},
      {"unterminated comment swallows the rest", "a@b (comment, c@d", {"a@b"}},
      {"unterminated angle-addr", "Name <a@b", {"a@b"}},
      {"a trailing backslash in a quote", "\"Name\\", {}},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(joined(extract_mailboxes(row.value)) == joined(row.expected));
    }
  }
  SUBCASE("100,000 commas give no mailboxes") {
    CHECK(extract_mailboxes(std::string(100000, ',')).empty());
  }
  SUBCASE("10,000 mailboxes are all returned") {
    std::string value;
    for (int i = 0; i < 10000; ++i) value += "u" + std::to_string(i) + "@d, ";
    auto boxes = extract_mailboxes(value);
    REQUIRE(boxes.size() == 10000);
    CHECK(boxes.back() == "u9999@d");
  }
  SUBCASE("deeply nested comments") {
    CHECK(joined(extract_mailboxes("a@b " + std::string(5000, '(') + std::string(5000, ')'))) ==
          "[a@b]");
  }
}

}  // namespace
}  // namespace agentgate::policy
