// The immutable Snapshot: lookups by id, inbox and principal, which identity wins when a
// revoked and a live identity share an inbox, and that terminal identities bind no principal.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "registry/snapshot.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using namespace agentgate::testing;
using policy::Identity;
using policy::Status;

Identity make(std::string id, std::string inbox, std::vector<std::string> principals, Status status,
              policy::Time updated = kNow) {
  Identity i = sample_identity();
  i.id = std::move(id);
  i.inbox = std::move(inbox);
  i.principals = std::move(principals);
  i.status = status;
  i.updated_at = updated;
  return i;
}

std::shared_ptr<const Snapshot> build(std::vector<Identity> ids, std::uint64_t generation = 7) {
  return Snapshot::build({generation, std::move(ids), {}}, kNow);
}

TEST_CASE("snapshot: lookups by id, inbox and principal") {
  auto s = build({make("a-bot", "a@agents.example.com", {"sasl:a", "cert:CN=a"}, Status::active),
                  make("b-bot", "b@agents.example.com", {"sasl:b"}, Status::suspended),
                  make("c-bot", "c@agents.example.com", {}, Status::requested)});
  CHECK(s->size() == 3);
  CHECK(s->generation() == 7);
  CHECK(s->built_at() == kNow);
  struct Row {
    const char* name;
    const Identity* found;
    const char* id;
  };
  const Row rows[] = {
      {"by id", s->by_id("b-bot"), "b-bot"},
      {"by inbox", s->by_inbox("a@agents.example.com"), "a-bot"},
      {"by sasl principal", s->by_principal("sasl:a"), "a-bot"},
      {"by cert principal", s->by_principal("cert:CN=a"), "a-bot"},
      {"suspended identity's principal", s->by_principal("sasl:b"), "b-bot"},
      {"requested identity by inbox", s->by_inbox("c@agents.example.com"), "c-bot"},
      {"unknown id", s->by_id("z-bot"), nullptr},
      {"unknown inbox", s->by_inbox("z@agents.example.com"), nullptr},
      {"inbox lookups are exact (callers normalise)", s->by_inbox("A@agents.example.com"), nullptr},
      {"principal without prefix is not a principal", s->by_principal("a"), nullptr},
      {"id is not an inbox", s->by_inbox("a-bot"), nullptr},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      if (row.id == nullptr) {
        CHECK(row.found == nullptr);
      } else {
        REQUIRE(row.found != nullptr);
        CHECK(row.found->id == row.id);
      }
    }
  }
}

TEST_CASE("snapshot: a live identity wins the inbox over revoked or rejected ones") {
  const std::string inbox = "helpdesk@agents.example.com";
  const Identity revoked = make("old-bot", inbox, {"sasl:old"}, Status::revoked, kNow);
  const Identity rejected = make("nope-bot", inbox, {"sasl:nope"}, Status::rejected, kNow);
  const Identity live =
      make("new-bot", inbox, {"sasl:new"}, Status::active, kNow - std::chrono::hours(5));
  struct Row {
    const char* name;
    std::vector<Identity> ids;
    const char* winner;
  };
  const std::vector<Row> rows = {
      {"revoked first", {revoked, live}, "new-bot"},
      {"live first", {live, revoked}, "new-bot"},
      {"live between terminal ones", {rejected, live, revoked}, "new-bot"},
      {"only terminal ones: the most recently updated",
       {make("older", inbox, {}, Status::revoked, kNow - std::chrono::hours(1)),
        make("newer", inbox, {}, Status::rejected, kNow)},
       "newer"},
      {"only terminal ones, newer first",
       {make("newer", inbox, {}, Status::revoked, kNow),
        make("older", inbox, {}, Status::revoked, kNow - std::chrono::hours(1))},
       "newer"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto s = build(row.ids);
      const Identity* found = s->by_inbox(inbox);
      REQUIRE(found != nullptr);
      CHECK(found->id == row.winner);
      for (const auto& i : row.ids) CHECK(s->by_id(i.id) != nullptr);  // all stay reachable
    }
  }
}

TEST_CASE("snapshot: terminal identities bind no principal") {
  auto s = build(
      {make("old-bot", "old@agents.example.com", {"sasl:shared", "sasl:old"}, Status::revoked),
       make("nope-bot", "nope@agents.example.com", {"sasl:nope"}, Status::rejected),
       make("new-bot", "new@agents.example.com", {"sasl:shared"}, Status::active),
       make("exp-bot", "exp@agents.example.com", {"sasl:exp"}, Status::expired)});
  CHECK(s->by_principal("sasl:old") == nullptr);
  CHECK(s->by_principal("sasl:nope") == nullptr);
  REQUIRE(s->by_principal("sasl:shared") != nullptr);
  CHECK(s->by_principal("sasl:shared")->id == "new-bot");
  REQUIRE(s->by_principal("sasl:exp") != nullptr);  // expired is not terminal: renewal may follow
  CHECK(s->by_principal("sasl:exp")->id == "exp-bot");
  REQUIRE(s->by_id("old-bot") != nullptr);
  CHECK(s->by_id("old-bot")->status == Status::revoked);
}

TEST_CASE("snapshot: the generation and identities are carried unchanged") {
  for (std::uint64_t generation : {0ULL, 1ULL, 123456789ULL}) {
    SUBCASE(std::to_string(generation).c_str()) {
      auto s =
          build({make("a-bot", "a@agents.example.com", {"sasl:a"}, Status::active)}, generation);
      CHECK(s->generation() == generation);
      REQUIRE(s->identities().size() == 1);
      CHECK(s->identities()[0].principals == std::vector<std::string>{"sasl:a"});
    }
  }
  SUBCASE("an empty registry") {
    auto s = build({}, 4);
    CHECK(s->size() == 0);
    CHECK(s->generation() == 4);
    CHECK(s->by_id("a-bot") == nullptr);
  }
}

TEST_CASE("snapshot: lookups survive the source data being destroyed") {
  std::shared_ptr<const Snapshot> s;
  {
    // Long strings (beyond any small-string buffer) make dangling keys visible to ASan.
    std::vector<Identity> ids;
    for (int n = 0; n < 50; ++n) {
      std::string id = "bot-" + std::to_string(n) + std::string(40, 'x');
      ids.push_back(make(id, id + "@agents.example.com", {"sasl:" + id}, Status::active));
    }
    s = build(std::move(ids));
  }
  for (int n = 0; n < 50; ++n) {
    std::string id = "bot-" + std::to_string(n) + std::string(40, 'x');
    CAPTURE(id);
    REQUIRE(s->by_id(id) != nullptr);
    CHECK(s->by_inbox(id + "@agents.example.com")->id == id);
    CHECK(s->by_principal("sasl:" + id)->id == id);
  }
}

}  // namespace
}  // namespace agentgate::registry
