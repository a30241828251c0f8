// RegistryCache's end-of-message view with a change feed (milter/registry_cache.hpp): the
// snapshot is trusted only up to the newest announced generation, what it lacks is read from
// the store, and a store that cannot answer never lets a snapshot known to be behind decide.
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

}  // namespace
}  // namespace agentgate::milter
