// The Registry service: governance rules applied against a real store (the backend
// store_support.hpp selects). Each successful
// operation persists the identity and exactly one audit record naming the action; a refusal
// writes nothing at all (no identity change, no audit record, no generation bump).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/timefmt.hpp"
#include "registry/audit.hpp"
#include "registry/registry.hpp"
#include "store_support.hpp"
#include "test_support.hpp"

namespace agentgate::registry {
namespace {

using namespace agentgate::testing;
using policy::ApprovalRole;
using policy::Identity;
using policy::Result;
using policy::Status;

const Actor kRita{kRequester, "rita"};
const Actor kBob{kBusinessOwner, "bob"};
const Actor kSam{kSystemOwner, "sam"};
const Actor kAlice{kIgRecorded, "alice"};
const Actor kSoc{kSecurityOfficer, "root"};

// A draft valid at the real clock: Registry reads the time itself.
Identity draft(std::string id = "helpdesk-bot", std::string inbox = "helpdesk@agents.example.com",
               std::string principal = "sasl:helpdesk") {
  Identity d = sample_identity(common::now_seconds());
  d.id = std::move(id);
  d.inbox = std::move(inbox);
  d.principals = {std::move(principal)};
  return d;
}

struct RegistryFixture {
  FreshStore db;
  std::unique_ptr<Store> store = open_store(db.url(), true);
  Registry registry{*store, governance_rules()};
  RegistryFixture() { store->migrate(); }

  size_t audit_count() { return store->audit_records(1).size(); }
  AuditRecord last_audit() { return store->audit_records(1).back(); }
  std::optional<Identity> find(std::string_view id) {
    std::optional<Identity> out;
    store->read([&](StoreTx& tx) { out = tx.find_identity(id); });
    return out;
  }
  Identity must(const Result<Identity>& r) {
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.refusal().message));
    return r.value();
  }
  Identity active(Identity d = draft()) {
    must(registry.request(d, kRita));
    must(registry.approve(d.id, ApprovalRole::owner, kBob, ""));
    must(registry.approve(d.id, ApprovalRole::ig, kAlice, ""));
    return must(registry.approve(d.id, ApprovalRole::system, kSam, ""));
  }
};

TEST_CASE("registry: each successful operation appends exactly one audit record naming it") {
  RegistryFixture f;
  const auto renewal = common::now_seconds() + std::chrono::days(60);
  struct Step {
    const char* name;
    std::function<Result<Identity>(Registry&)> op;
    const char* action;
    const char* actor;
    Status status;
  };
  const std::vector<Step> steps = {
      {"request", [](Registry& r) { return r.request(draft(), kRita); }, "identity.request",
       kRequester, Status::requested},
      {"owner approval",
       [](Registry& r) { return r.approve("helpdesk-bot", ApprovalRole::owner, kBob, "ok"); },
       "identity.approve", kBusinessOwner, Status::owner_approved},
      {"IG approval",
       [](Registry& r) { return r.approve("helpdesk-bot", ApprovalRole::ig, kAlice, ""); },
       "identity.approve", kIgRecorded, Status::owner_approved},
      {"system approval",
       [](Registry& r) { return r.approve("helpdesk-bot", ApprovalRole::system, kSam, ""); },
       "identity.approve", kSystemOwner, Status::active},
      {"suspend", [](Registry& r) { return r.suspend("helpdesk-bot", kBob, "incident 42"); },
       "identity.suspend", kBusinessOwner, Status::suspended},
      {"resume", [](Registry& r) { return r.resume("helpdesk-bot", kSoc, "cleared"); },
       "identity.resume", kSecurityOfficer, Status::active},
      {"renew", [&](Registry& r) { return r.renew("helpdesk-bot", renewal, kRita); },
       "identity.renew", kRequester, Status::active},
      {"reject the renewal",
       [](Registry& r) { return r.reject("helpdesk-bot", kAlice, "not now"); }, "identity.reject",
       kIgRecorded, Status::active},
      {"revoke", [](Registry& r) { return r.revoke("helpdesk-bot", kSoc, "retired"); },
       "identity.revoke", kSecurityOfficer, Status::revoked},
  };
  size_t audits = 0;
  std::uint64_t generation = f.store->generation();
  for (const auto& step : steps) {
    CAPTURE(step.name);
    const Identity result = f.must(step.op(f.registry));
    ++audits;
    ++generation;
    CHECK(f.audit_count() == audits);
    CHECK(f.store->generation() == generation);
    const AuditRecord last = f.last_audit();
    CHECK(last.seq == static_cast<std::int64_t>(audits));
    CHECK(last.action == step.action);
    CHECK(last.actor == step.actor);
    CHECK(last.subject == "helpdesk-bot");
    CHECK_FALSE(last.os_user.empty());
    const auto details = nlohmann::json::parse(last.details);
    const char* field = audits == 1 ? "status" : "to";
    CHECK(details.at(field) == std::string(policy::to_string(step.status)));
    CHECK(result.status == step.status);
    auto stored = f.find("helpdesk-bot");
    REQUIRE(stored.has_value());
    CHECK(stored->status == step.status);
  }
  const ChainCheck check = verify_audit_chain(f.store->audit_records(1));
  CHECK(check.ok);
  CHECK(check.records == static_cast<std::int64_t>(steps.size()));
}

TEST_CASE("registry: approve details record the role, the comment and the transition") {
  RegistryFixture f;
  f.must(f.registry.request(draft(), kRita));
  f.must(f.registry.approve("helpdesk-bot", ApprovalRole::owner, kBob, "looks right"));
  const auto details = nlohmann::json::parse(f.last_audit().details);
  CHECK(details.at("role") == "owner");
  CHECK(details.at("comment") == "looks right");
  CHECK(details.at("from") == "requested");
  CHECK(details.at("to") == "owner_approved");
  CHECK(details.at("round") == 1);
  auto stored = f.find("helpdesk-bot");
  REQUIRE(stored.has_value());
  REQUIRE(stored->approvals.size() == 1);
  CHECK(stored->approvals[0].comment == "looks right");
}

TEST_CASE("registry: request normalises the inbox before storing and checking it") {
  RegistryFixture f;
  auto stored =
      f.must(f.registry.request(draft("helpdesk-bot", " <HelpDesk@Agents.Example.COM> "), kRita));
  CHECK(stored.inbox == "helpdesk@agents.example.com");
}

TEST_CASE("registry: refusals write nothing") {
  RegistryFixture f;
  f.active();
  f.must(f.registry.request(draft("pending-bot", "pending@agents.example.com", "sasl:pending"),
                            kRita));
  struct Row {
    const char* name;
    std::function<Result<Identity>(Registry&)> op;
    const char* rule;
  };
  const std::vector<Row> rows = {
      {"id taken",
       [](Registry& r) {
         return r.request(draft("helpdesk-bot", "x@agents.example.com", "sasl:x"), kRita);
       },
       "id_taken"},
      {"inbox taken (in another case)",
       [](Registry& r) {
         return r.request(draft("other-bot", "HELPDESK@agents.example.com", "sasl:x"), kRita);
       },
       "inbox_taken"},
      {"inbox taken by a pending request",
       [](Registry& r) {
         return r.request(draft("other-bot", "pending@agents.example.com", "sasl:x"), kRita);
       },
       "inbox_taken"},
      {"principal taken",
       [](Registry& r) {
         return r.request(draft("other-bot", "other@agents.example.com", "sasl:helpdesk"), kRita);
       },
       "principal_taken"},
      {"request by an agent",
       [](Registry& r) {
         return r.request(draft("other-bot", "other@agents.example.com", "sasl:x"),
                          {"sasl:helpdesk", "x"});
       },
       "agent_actor"},
      {"approve by the requester",
       [](Registry& r) { return r.approve("pending-bot", ApprovalRole::owner, kRita, ""); },
       "self_approval"},
      {"approve by an agent's inbox",
       [](Registry& r) {
         return r.approve("pending-bot", ApprovalRole::owner, {"HelpDesk@agents.example.com", "x"},
                          "");
       },
       "agent_actor"},
      {"approve an unknown id",
       [](Registry& r) { return r.approve("nobody", ApprovalRole::owner, kBob, ""); }, "not_found"},
      {"resume an active identity", [](Registry& r) { return r.resume("helpdesk-bot", kBob, ""); },
       "not_suspended"},
      {"suspend by the requester", [](Registry& r) { return r.suspend("helpdesk-bot", kRita, ""); },
       "not_authorized"},
      {"renew by the business owner",
       [](Registry& r) {
         return r.renew("helpdesk-bot", common::now_seconds() + std::chrono::days(5), kBob);
       },
       "self_approval"},
      {"reject an active identity", [](Registry& r) { return r.reject("helpdesk-bot", kSoc, ""); },
       "not_pending"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      const auto generation = f.store->generation();
      const auto audits = f.audit_count();
      const auto before = f.find("helpdesk-bot");
      const auto data_before = f.store->load_registry();
      auto r = row.op(f.registry);
      REQUIRE_FALSE(r.ok());
      CHECK(r.refusal().rule == row.rule);
      CHECK_FALSE(r.refusal().message.empty());
      CHECK(f.store->generation() == generation);
      CHECK(f.audit_count() == audits);
      CHECK(f.store->load_registry().identities.size() == data_before.identities.size());
      auto after = f.find("helpdesk-bot");
      REQUIRE(after.has_value());
      CHECK(after->status == before->status);
      CHECK(after->updated_at == before->updated_at);
      CHECK(after->approvals.size() == before->approvals.size());
      CHECK_FALSE(f.find("other-bot").has_value());
    }
  }
}

TEST_CASE("registry: a revoked identity's inbox and principal may be reused, its id may not") {
  RegistryFixture f;
  f.active();
  f.must(f.registry.revoke("helpdesk-bot", kSoc, "replaced"));
  auto again = f.registry.request(draft(), kRita);
  REQUIRE_FALSE(again.ok());
  CHECK(again.refusal().rule == "id_taken");
  auto successor = f.must(f.registry.request(draft("helpdesk-bot2"), kRita));
  CHECK(successor.inbox == "helpdesk@agents.example.com");
  CHECK(successor.status == Status::requested);
  CHECK(verify_audit_chain(f.store->audit_records(1)).ok);
}

// Rejecting a renewal clears the round's approvals; the round number stays, so the store must
// replace the round's approval rows rather than only ever adding to them.
TEST_CASE("registry: a rejected renewal round leaves no current approvals") {
  RegistryFixture f;
  f.active();
  f.must(f.registry.renew("helpdesk-bot", common::now_seconds() + std::chrono::days(60), kRita));
  f.must(f.registry.approve("helpdesk-bot", ApprovalRole::owner, kBob, "fine by me"));
  const Identity returned = f.must(f.registry.reject("helpdesk-bot", kAlice, "not now"));
  CHECK(returned.approvals.empty());
  auto stored = f.find("helpdesk-bot");
  REQUIRE(stored.has_value());
  CHECK_FALSE(policy::renewal_pending(*stored));
  CHECK(stored->approvals.size() == returned.approvals.size());
}

}  // namespace
}  // namespace agentgate::registry
