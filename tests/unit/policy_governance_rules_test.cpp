// The approval rules of SPEC section 3 beyond the state table: who may approve what, when an
// identity becomes active, renewal rounds, expiry limits and request validation.
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "policy/governance.hpp"
#include "test_support.hpp"

namespace agentgate::policy {
namespace {

using namespace agentgate::testing;
using std::chrono::days;
using std::chrono::seconds;

Identity requested(Identity draft = sample_identity(), const char* actor = kRequester) {
  auto r = request_identity(std::move(draft), actor, governance_rules(), fake_agents(), kNow);
  REQUIRE_MESSAGE(r.ok(), r.refusal().message);
  return r.value();
}

Result<Identity> approve(const Identity& i, ApprovalRole role, const char* actor,
                         const GovernanceRules& rules = governance_rules()) {
  return approve_identity(i, role, actor, "", rules, fake_agents(), kNow);
}

Identity approved(const Identity& i, ApprovalRole role, const char* actor) {
  auto r = approve(i, role, actor);
  REQUIRE_MESSAGE(r.ok(), r.refusal().message);
  return r.value();
}

Identity receive_only() {
  Identity d = sample_identity();
  d.actions = CapabilitySet::of({Capability::receive});
  d.targets.clear();
  d.principals.clear();
  return d;
}

Identity fully_approved(Identity i) {
  i = approved(i, ApprovalRole::owner, kBusinessOwner);
  i = approved(i, ApprovalRole::ig, kIgRecorded);
  if (i.actions.privileged()) i = approved(i, ApprovalRole::system, kSystemOwner);
  REQUIRE(i.status == Status::active);
  return i;
}

TEST_CASE("approval: no one approves a round they requested, in any role") {
  Identity alice_asked = requested(sample_identity(), kIgRecorded);
  alice_asked = approved(alice_asked, ApprovalRole::owner, kBusinessOwner);
  Identity sam_asked = requested(receive_only(), kSystemOwner);  // allowed: no system approval
  struct Row {
    const char* name;
    Identity identity;
    ApprovalRole role;
    const char* actor;
  };
  const std::vector<Row> rows = {
      {"requester as owner", requested(), ApprovalRole::owner, kRequester},
      {"requester as IG", approved(requested(), ApprovalRole::owner, kBusinessOwner),
       ApprovalRole::ig, kRequester},
      {"requester as system", requested(), ApprovalRole::system, kRequester},
      {"IG reviewer who requested gives IG", alice_asked, ApprovalRole::ig, kIgRecorded},
      {"system owner who requested receive-only", sam_asked, ApprovalRole::system, kSystemOwner},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto r = approve(row.identity, row.role, row.actor);
      REQUIRE_FALSE(r.ok());
      CHECK(r.refusal().rule == "self_approval");
    }
  }
}

TEST_CASE("approval: one person never holds two approving roles") {
  SUBCASE("business owner == system owner of a privileged identity is refused at request") {
    Identity d = sample_identity();
    d.system_owner = kBusinessOwner;
    auto r = request_identity(d, kRequester, governance_rules(), fake_agents(), kNow);
    REQUIRE_FALSE(r.ok());
    CHECK(r.refusal().rule == "owners_not_distinct");
  }
  SUBCASE("business owner == system owner is fine when only receiving") {
    Identity d = receive_only();
    d.system_owner = kBusinessOwner;
    CHECK(request_identity(d, kRequester, governance_rules(), fake_agents(), kNow).ok());
  }
  for (const char* owner : {kBusinessOwner, kSystemOwner}) {
    SUBCASE((std::string("IG reviewer who is the ") + owner + " owner").c_str()) {
      auto rules = governance_rules();
      rules.ig_reviewers.push_back(owner);
      Identity i = approved(requested(), ApprovalRole::owner, kBusinessOwner);
      auto r = approve(i, ApprovalRole::ig, owner, rules);
      REQUIRE_FALSE(r.ok());
      CHECK(r.refusal().rule == "approvers_not_distinct");
    }
  }
}

TEST_CASE("approval: an agent never acts, by any of its names") {
  const std::vector<std::string> forms = {"bot-one",
                                          "bot-one@agents.example.com",
                                          "Bot-One@Agents.Example.com",
                                          "sasl:bot-one",
                                          "cert:CN=bot-one",
                                          "CN=bot-one"};
  const auto rules = governance_rules();
  const auto agents = fake_agents();
  const Identity pending = requested();
  const Identity active = fully_approved(requested());
  Identity suspended = active;
  suspended.status = Status::suspended;
  using Op = std::function<Result<Identity>(const char*)>;
  const std::vector<std::pair<const char*, Op>> ops = {
      {"request",
       [&](const char* a) { return request_identity(sample_identity(), a, rules, agents, kNow); }},
      {"approve",
       [&](const char* a) {
         return approve_identity(pending, ApprovalRole::owner, a, "", rules, agents, kNow);
       }},
      {"reject",
       [&](const char* a) { return reject_identity(pending, a, "", rules, agents, kNow); }},
      {"suspend",
       [&](const char* a) { return suspend_identity(active, a, "", rules, agents, kNow); }},
      {"resume",
       [&](const char* a) { return resume_identity(suspended, a, "", rules, agents, kNow); }},
      {"revoke",
       [&](const char* a) { return revoke_identity(active, a, "", rules, agents, kNow); }},
      {"renew",
       [&](const char* a) {
         return renew_identity(active, kNow + days(60), a, rules, agents, kNow);
       }},
  };
  for (const auto& [op_name, op] : ops)
    for (const auto& form : forms) SUBCASE((std::string(op_name) + " by " + form).c_str()) {
        auto r = op(form.c_str());
        REQUIRE_FALSE(r.ok());
        CHECK(r.refusal().rule == "agent_actor");
      }
}

TEST_CASE("approval: a privileged identity is active only after the system owner approves") {
  Identity i = approved(requested(), ApprovalRole::owner, kBusinessOwner);
  CHECK(i.status == Status::owner_approved);
  i = approved(i, ApprovalRole::ig, kIgRecorded);
  CHECK(i.status == Status::owner_approved);
  CHECK(i.ig_reviewer == kIgRecorded);
  i = approved(i, ApprovalRole::system, kSystemOwner);
  CHECK(i.status == Status::active);
  REQUIRE(i.approvals.size() == 3);
  CHECK(i.approvals[2].actor == kSystemOwner);
  CHECK(i.approvals[2].at == kNow);
}

TEST_CASE("approval: a receive-only identity is active after owner and IG, and needs no system") {
  Identity i = approved(requested(receive_only()), ApprovalRole::owner, kBusinessOwner);
  auto early = approve(i, ApprovalRole::system, kSystemOwner);
  REQUIRE_FALSE(early.ok());
  CHECK(early.refusal().rule == "system_approval_not_needed");
  i = approved(i, ApprovalRole::ig, kIgRecorded);
  CHECK(i.status == Status::active);
  auto late = approve(i, ApprovalRole::system, kSystemOwner);
  REQUIRE_FALSE(late.ok());
  CHECK(late.refusal().rule == "not_pending");
}

TEST_CASE("approval: ordering and duplicates") {
  SUBCASE("IG before the owner is refused") {
    auto r = approve(requested(), ApprovalRole::ig, kIgRecorded);
    REQUIRE_FALSE(r.ok());
    CHECK(r.refusal().rule == "owner_approval_first");
  }
  SUBCASE("system before the owner is accepted and activates nothing") {
    Identity i = approved(requested(), ApprovalRole::system, kSystemOwner);
    CHECK(i.status == Status::requested);
    i = approved(i, ApprovalRole::owner, kBusinessOwner);
    i = approved(i, ApprovalRole::ig, kIgMember);
    CHECK(i.status == Status::active);
  }
  struct Dup {
    const char* name;
    std::vector<std::pair<ApprovalRole, const char*>> given;
    ApprovalRole role;
    const char* actor;
  };
  const std::vector<Dup> dups = {
      {"a second owner approval",
       {{ApprovalRole::owner, kBusinessOwner}},
       ApprovalRole::owner,
       kBusinessOwner},
      {"a second IG approval by another member",
       {{ApprovalRole::owner, kBusinessOwner}, {ApprovalRole::ig, kIgRecorded}},
       ApprovalRole::ig,
       kIgMember},
      {"a second system approval",
       {{ApprovalRole::system, kSystemOwner}},
       ApprovalRole::system,
       kSystemOwner},
  };
  for (const auto& dup : dups) {
    SUBCASE(dup.name) {
      Identity i = requested();
      for (const auto& [role, actor] : dup.given) i = approved(i, role, actor);
      REQUIRE(i.status != Status::active);
      auto r = approve(i, dup.role, dup.actor);
      REQUIRE_FALSE(r.ok());
      CHECK(r.refusal().rule == "already_approved");
    }
  }
}

TEST_CASE("renewal: a live identity stays active and gains its new expiry only after the round") {
  const Identity active = fully_approved(requested());
  const Time old_expiry = active.expires_at;
  const Time new_expiry = kNow + days(80);
  auto r = renew_identity(active, new_expiry, kIgMember, governance_rules(), fake_agents(), kNow);
  REQUIRE(r.ok());
  Identity i = r.value();
  CHECK(renewal_pending(i));
  CHECK(i.round == 2);
  CHECK(i.approvals.empty());
  CHECK(i.requester == kIgMember);
  auto again = renew_identity(i, new_expiry, kRequester, governance_rules(), fake_agents(), kNow);
  REQUIRE_FALSE(again.ok());
  CHECK(again.refusal().rule == "renewal_pending");
  auto ig_first = approve(i, ApprovalRole::ig, kIgRecorded);
  REQUIRE_FALSE(ig_first.ok());
  CHECK(ig_first.refusal().rule == "owner_approval_first");
  const std::vector<std::pair<ApprovalRole, const char*>> round = {
      {ApprovalRole::owner, kBusinessOwner},
      {ApprovalRole::ig, kIgRecorded},
      {ApprovalRole::system, kSystemOwner}};
  for (size_t k = 0; k < round.size(); ++k) {
    CAPTURE(k);
    CHECK(effective_status(i, kNow) == Status::active);
    CHECK(i.expires_at == old_expiry);
    CHECK(renewal_pending(i));
    i = approved(i, round[k].first, round[k].second);
  }
  CHECK(effective_status(i, kNow) == Status::active);
  CHECK(i.expires_at == new_expiry);
  CHECK_FALSE(renewal_pending(i));
}

TEST_CASE("renewal: rejecting a renewal round keeps the identity and its expiry") {
  const Identity active = fully_approved(requested());
  auto r =
      renew_identity(active, kNow + days(80), kRequester, governance_rules(), fake_agents(), kNow);
  REQUIRE(r.ok());
  auto rejected = reject_identity(r.value(), kSecurityOfficer, "not needed", governance_rules(),
                                  fake_agents(), kNow);
  REQUIRE(rejected.ok());
  CHECK(rejected.value().status == Status::active);
  CHECK(rejected.value().expires_at == active.expires_at);
  CHECK_FALSE(renewal_pending(rejected.value()));
}

TEST_CASE("renewal: an expired identity goes back to requested, keeping id and history") {
  Identity active = fully_approved(requested());
  active.expires_at = kNow - seconds(1);
  REQUIRE(effective_status(active, kNow) == Status::expired);
  auto r =
      renew_identity(active, kNow + days(30), kRequester, governance_rules(), fake_agents(), kNow);
  REQUIRE(r.ok());
  const Identity& i = r.value();
  CHECK(i.status == Status::requested);
  CHECK(i.id == active.id);
  CHECK(i.created_at == active.created_at);
  CHECK(i.round == 2);
  CHECK(i.expires_at == kNow + days(30));
  CHECK(i.ig_reviewer.empty());
  CHECK_FALSE(renewal_pending(i));
  CHECK(fully_approved(i).status == Status::active);
}

TEST_CASE("expiry: requested lifetimes must lie in the future and within the configured maximum") {
  struct Row {
    const char* name;
    Time expiry;
    const char* rule;
  };  // rule "" = allowed
  const Row rows[] = {
      {"one second ahead", kNow + seconds(1), ""},
      {"exactly the maximum", kNow + days(90), ""},
      {"now", kNow, "expiry_in_past"},
      {"in the past", kNow - days(1), "expiry_in_past"},
      {"one second beyond the maximum", kNow + days(90) + seconds(1), "expiry_too_far"},
  };
  const Identity active = fully_approved(requested());
  for (const auto& row : rows) {
    SUBCASE((std::string("request ") + row.name).c_str()) {
      Identity d = sample_identity();
      d.expires_at = row.expiry;
      auto r = request_identity(d, kRequester, governance_rules(), fake_agents(), kNow);
      CHECK(r.ok() == (*row.rule == 0));
      if (!r.ok()) CHECK(r.refusal().rule == row.rule);
    }
    SUBCASE((std::string("renew ") + row.name).c_str()) {
      auto r =
          renew_identity(active, row.expiry, kRequester, governance_rules(), fake_agents(), kNow);
      CHECK(r.ok() == (*row.rule == 0));
      if (!r.ok()) CHECK(r.refusal().rule == row.rule);
    }
  }
  SUBCASE("the maximum follows governance.max_identity_lifetime") {
    auto rules = governance_rules();
    rules.max_identity_lifetime = days(7);
    Identity d = sample_identity();
    d.expires_at = kNow + days(8);
    auto r = request_identity(d, kRequester, rules, fake_agents(), kNow);
    REQUIRE_FALSE(r.ok());
    CHECK(r.refusal().rule == "expiry_too_far");
    CHECK(r.refusal().message.find("7 days") != std::string::npos);
  }
}

TEST_CASE("expiry: suspension stops at the boundary second; a suspension outlives expiry") {
  Identity active = fully_approved(requested());
  active.expires_at = kNow + seconds(1);
  const auto rules = governance_rules();
  CHECK(suspend_identity(active, kSecurityOfficer, "", rules, fake_agents(), kNow).ok());
  active.expires_at = kNow;
  auto late = suspend_identity(active, kSecurityOfficer, "", rules, fake_agents(), kNow);
  REQUIRE_FALSE(late.ok());
  CHECK(late.refusal().rule == "not_active");
  active.status = Status::suspended;
  // Expired while suspended: renewal is refused until the suspension is lifted, and lifting it
  // leaves the identity expired (resume never extends a lifetime).
  auto renew = renew_identity(active, kNow + std::chrono::days(10), kSecurityOfficer, rules,
                              fake_agents(), kNow);
  REQUIRE_FALSE(renew.ok());
  CHECK(renew.refusal().rule == "suspended");
  auto resume = resume_identity(active, kSecurityOfficer, "", rules, fake_agents(), kNow);
  REQUIRE(resume.ok());
  CHECK(effective_status(resume.value(), kNow) == Status::expired);
}

}  // namespace
}  // namespace agentgate::policy
