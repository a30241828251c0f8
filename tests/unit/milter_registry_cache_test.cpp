// RegistryCache's end-of-message view with a change feed (milter/registry_cache.hpp): the
// snapshot is trusted only up to the newest announced generation, what it lacks is read from
// the store, and a store that cannot answer never lets a snapshot known to be behind decide.
// Without a feed, a verdict reached on the snapshot stands only once the store confirms the
// snapshot's generation, in the proof's own spend when there is one.
// Runs on a SQLite store in a temporary directory; announcements stand in for notifications.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "common/timefmt.hpp"
#include "milter/registry_cache.hpp"
#include "registry/store.hpp"
#include "test_support.hpp"

namespace agentgate::milter {
namespace {

using namespace agentgate::testing;
using policy::LookupStatus;

constexpr const char* kKnown = "helpdesk@agents.example.com";
constexpr const char* kLater = "later@agents.example.com";

struct Fixture {
  TempDir dir;
  std::string path = dir.file("registry.db");
  std::string url = "sqlite://" + path;
  RegistryCache cache{url, std::chrono::seconds(30)};

  Fixture() {
    auto store = registry::open_store(url, true);
    store->migrate();
    add(*store, "helpdesk", kKnown);
    add_grant(*store);
    std::string error;
    REQUIRE(cache.load(&error));
    cache.set_pushed(true);  // as while the change feed is connected
  }
  static void add(registry::Store& store, const char* id, const char* inbox) {
    auto i = sample_identity(common::now_seconds());
    i.id = id;
    i.inbox = inbox;
    i.principals = {std::string("sasl:") + id};
    store.write([&](registry::StoreTx& tx) { tx.put_identity(i); });
  }
  std::uint64_t generation() const { return cache.snapshot()->generation(); }
  static void add_grant(registry::Store& store) {
    auto g = sample_grant("g-00000000000000000001", "helpdesk", common::now_seconds());
    store.write([&](registry::StoreTx& tx) { tx.insert_grant(g); });
  }
  static std::int64_t messages_used(registry::Store& store) {
    std::int64_t used = -1;
    store.read([&](registry::StoreTx& tx) {
      if (auto g = tx.find_grant("g-00000000000000000001")) used = g->messages_used;
    });
    return used;
  }
  void break_store() {  // garbage where the database was: every open or read fails
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    std::ofstream(path, std::ios::trunc) << std::string(8192, 'x');
  }
};

TEST_CASE("registry cache: with the feed connected and nothing announced, the snapshot decides") {
  Fixture f;
  auto view = f.cache.eom_view();
  CHECK(view->by_inbox(kKnown).status == LookupStatus::found);
}

TEST_CASE("registry cache: what the snapshot lacks is read from the store before a refusal") {
  // An identity approved a moment ago on another host, its notification still on its way.
  Fixture f;
  Fixture::add(*registry::open_store(f.url), "later", kLater);
  auto view = f.cache.eom_view();
  auto found = view->by_inbox(kLater);
  CHECK(found.status == LookupStatus::found);
  REQUIRE(found.identity != nullptr);
  CHECK(found.identity->id == "later");
}

TEST_CASE("registry cache: a snapshot behind an announced generation never decides alone") {
  Fixture f;
  f.cache.announce(f.generation() + 1);  // a change (a revocation, maybe) the snapshot lacks
  SUBCASE("the store answers: it is read") {
    Fixture::add(*registry::open_store(f.url), "later", kLater);
    CHECK(f.cache.eom_view()->by_inbox(kLater).status == LookupStatus::found);
  }
  SUBCASE("the store cannot answer: unavailable (tempfail), not the stale snapshot's answer") {
    f.break_store();
    CHECK(f.cache.eom_view()->by_inbox(kKnown).status == LookupStatus::unavailable);
  }
}

TEST_CASE("registry cache: a current snapshot still decides when the store cannot answer") {
  // Within max_staleness, an outage alone does not stop mail the snapshot can decide.
  Fixture f;
  f.cache.set_pushed(false);  // no feed: end of message asks the store, which fails
  f.break_store();
  CHECK(f.cache.eom_view()->by_inbox(kKnown).status == LookupStatus::found);
}

TEST_CASE("registry cache: without a feed, a tentative verdict stands only if nothing moved") {
  Fixture f;
  f.cache.set_pushed(false);
  auto tentative = f.cache.tentative_view();
  REQUIRE(tentative);
  CHECK(tentative->generation == f.generation());
  CHECK(tentative->view->by_inbox(kKnown).status == LookupStatus::found);
  policy::Verdict proven;  // what a valid proof leaves for the session checks
  proven.jti = "jti-1";
  proven.grant = "g-00000000000000000001";
  proven.proof_digest = "digest";
  proven.proof_expires_at = common::now_seconds() + std::chrono::minutes(5);
  policy::MessageFacts facts;
  facts.recipients = {"someone@example.net"};
  std::string detail;
  auto other = registry::open_store(f.url);
  SUBCASE("nothing moved: confirmed, and the proof is spent at that generation") {
    CHECK(f.cache.confirm(tentative->generation) == RegistryCache::Confirmation::current);
    auto check = f.cache.session_checks(proven, facts, &detail, tentative->generation);
    CHECK_FALSE(check.moved);
    CHECK_FALSE(check.refusal);
    CHECK(Fixture::messages_used(*other) == 1);
  }
  SUBCASE("the registry moved: not confirmed, and nothing is spent") {
    Fixture::add(*other, "later", kLater);
    CHECK(f.cache.confirm(tentative->generation) == RegistryCache::Confirmation::moved);
    auto check = f.cache.session_checks(proven, facts, &detail, tentative->generation);
    CHECK(check.moved);
    CHECK_FALSE(check.refusal);
    CHECK(Fixture::messages_used(*other) == 0);
    CHECK_FALSE(other->spent_digest("jti-1"));
  }
  SUBCASE("the store cannot answer: failed; then only a current, fresh snapshot decides") {
    f.break_store();
    CHECK(f.cache.confirm(tentative->generation) == RegistryCache::Confirmation::failed);
    CHECK(f.cache.unreachable_view()->by_inbox(kKnown).status == LookupStatus::found);
    f.cache.announce(f.generation() + 1);  // known to lag: it no longer decides alone
    CHECK(f.cache.unreachable_view()->by_inbox(kKnown).status == LookupStatus::unavailable);
  }
}

TEST_CASE("registry cache: no tentative view with the feed connected or a snapshot known behind") {
  Fixture f;
  CHECK_FALSE(f.cache.tentative_view());  // the feed vouches for the snapshot: eom_view()
  f.cache.set_pushed(false);
  f.cache.announce(f.generation() + 1);
  CHECK_FALSE(f.cache.tentative_view());
}

}  // namespace
}  // namespace agentgate::milter
