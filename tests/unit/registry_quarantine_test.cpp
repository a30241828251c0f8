// The quarantine index in the store (registry/quarantine.hpp): a decision is one row per host and
// queue id (a second decision replaces it, back to "held"), the filters select what the SOC
// commands ask for, newest first, and an analyst's action is recorded once. Runs against the
// backend store_support.hpp selects.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "registry/store.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using namespace agentgate::testing;
using namespace std::chrono_literals;

QuarantineRecord held(std::string host, std::string qid, policy::Time at, std::string identity) {
  QuarantineRecord r;
  r.mta_host = std::move(host);
  r.queue_id = std::move(qid);
  r.at = at;
  r.identity = std::move(identity);
  r.grant = "g-1";
  r.task = "T-1";
  r.mail_from = "bot@agents.example.com";
  r.recipients = {"a@example.com", "b@example.com"};
  r.header_from = "Bot <bot@agents.example.com>";
  r.subject = "quarterly 'numbers' é";
  r.message_id = "<m@x>";
  r.reasons = {"grant_exhausted", "target_not_allowed"};
  r.event_id = "ev-" + r.queue_id;
  r.context = R"({"identity":{"id":"bot"}})";
  return r;
}

struct QuarantineFixture {
  FreshStore db;
  std::unique_ptr<Store> store = open_store(db.url(), true);
  QuarantineFixture() {
    store->migrate();
    store->record_quarantine(held("mx1", "Q1", kNow - 3h, "bot-a"));
    store->record_quarantine(held("mx1", "Q2", kNow - 2h, "bot-b"));
    auto other = held("mx2", "Q3", kNow - 1h, "bot-a");
    other.reasons = {"proof_missing"};
    other.recipients = {"c@example.com"};
    store->record_quarantine(other);
  }
  std::vector<std::string> ids(const QuarantineFilter& f) {
    std::vector<std::string> out;
    for (const auto& r : store->list_quarantine(f)) out.push_back(r.queue_id);
    return out;
  }
};

TEST_CASE("store: the quarantine index round-trips a record and lists newest first") {
  QuarantineFixture f;
  auto all = f.store->list_quarantine({});
  REQUIRE(all.size() == 3);
  CHECK(f.ids({}) == std::vector<std::string>{"Q3", "Q2", "Q1"});
  const auto want = held("mx1", "Q1", kNow - 3h, "bot-a");
  const auto& got = all[2];
  CHECK(got.mta_host == want.mta_host);
  CHECK(got.at == want.at);
  CHECK(got.identity == want.identity);
  CHECK(got.grant == want.grant);
  CHECK(got.task == want.task);
  CHECK(got.mail_from == want.mail_from);
  CHECK(got.recipients == want.recipients);
  CHECK(got.header_from == want.header_from);
  CHECK(got.subject == want.subject);
  CHECK(got.message_id == want.message_id);
  CHECK(got.reasons == want.reasons);
  CHECK(got.event_id == want.event_id);
  CHECK(got.context == want.context);
  CHECK(got.status == "held");
  CHECK(got.acted_by.empty());
}

TEST_CASE("store: the quarantine filters select by time, identity, status, host and lists") {
  QuarantineFixture f;
  struct Row {
    const char* name;
    QuarantineFilter filter;
    std::vector<std::string> want;
  };
  QuarantineFilter since, until, identity, host, qid, reason, recipient, none;
  since.since = kNow - 2h;
  until.until = kNow - 2h;
  identity.identity = "bot-a";
  host.host = "mx1";
  qid.queue_id = "Q2";
  reason.reason = "proof_missing";
  recipient.recipient = "b@example.com";
  none.identity = "' OR 1=1 --";
  const Row rows[] = {
      {"since (inclusive)", since, {"Q3", "Q2"}},
      {"until (inclusive)", until, {"Q2", "Q1"}},
      {"identity", identity, {"Q3", "Q1"}},
      {"host", host, {"Q2", "Q1"}},
      {"queue id", qid, {"Q2"}},
      {"one of the reasons", reason, {"Q3"}},
      {"one of the recipients", recipient, {"Q2", "Q1"}},
      {"an identity nobody has", none, {}},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(f.ids(row.filter) == row.want);
    }
  }
}

TEST_CASE("store: an analyst's action is recorded once; a new decision holds the row again") {
  QuarantineFixture f;
  bool acted = false;
  f.store->write([&](StoreTx& tx) {
    acted = tx.set_quarantine_status("mx1", "Q2", "released", "soc-lead", "false positive", kNow);
  });
  CHECK(acted);
  QuarantineFilter released;
  released.status = "released";
  auto rows = f.store->list_quarantine(released);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].queue_id == "Q2");
  CHECK(rows[0].acted_by == "soc-lead");
  CHECK(rows[0].justification == "false positive");
  CHECK(rows[0].acted_at == kNow);
  SUBCASE("an unknown host or queue id is not found") {
    f.store->write([&](StoreTx& tx) {
      acted = tx.set_quarantine_status("mx2", "Q2", "deleted", "soc-lead", "", kNow);
    });
    CHECK_FALSE(acted);
  }
  SUBCASE("a status outside held, released, deleted is refused by the store") {
    CHECK_THROWS_AS(f.store->write([&](StoreTx& tx) {
      tx.set_quarantine_status("mx1", "Q1", "lost", "soc-lead", "", kNow);
    }),
                    StoreError);
  }
  SUBCASE("the same host and queue id quarantined again replaces the row, held") {
    f.store->record_quarantine(held("mx1", "Q2", kNow, "bot-c"));
    QuarantineFilter q2;
    q2.queue_id = "Q2";
    auto again = f.store->list_quarantine(q2);
    REQUIRE(again.size() == 1);
    CHECK(again[0].identity == "bot-c");
    CHECK(again[0].status == "held");
    CHECK(again[0].acted_by.empty());
    CHECK(f.store->list_quarantine({}).size() == 3);
  }
}

TEST_CASE("store: raw 8-bit header bytes in a quarantine row are stored, never refused") {
  // An 8-bit Subject, cut at 998 bytes inside a character: the milter hands such bytes over.
  QuarantineFixture f;
  auto r = held("mx1", "Q8", kNow, "bot-a");
  r.subject = "Rechnung f\xfcr \xc3";
  r.header_from = "M\xfcller <bot@agents.example.com>";
  REQUIRE_NOTHROW(f.store->record_quarantine(r));
  QuarantineFilter q;
  q.queue_id = "Q8";
  auto rows = f.store->list_quarantine(q);
  REQUIRE(rows.size() == 1);
  // SQLite keeps the bytes; PostgreSQL (UTF8 only) keeps every valid character and marks each
  // invalid byte with U+FFFD.
  if (f.db.backend() == Backend::sqlite) {
    CHECK(rows[0].subject == r.subject);
  } else {
    CHECK(rows[0].subject == "Rechnung f\xef\xbf\xbdr \xef\xbf\xbd");
    CHECK(rows[0].header_from == "M\xef\xbf\xbdller <bot@agents.example.com>");
  }
}

}  // namespace
}  // namespace agentgate::registry
