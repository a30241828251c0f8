// Request validation (SPEC section 3 field rules): every field rule refuses with its own code,
// and the well-formed variants next to each rule are accepted.
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "policy/governance.hpp"
#include "test_support.hpp"

namespace agentgate::policy {
namespace {

using namespace agentgate::testing;

struct Row {
  const char* name;
  std::function<void(Identity&)> change;
  const char* rule;  // "" = accepted
};

Result<Identity> request_with(const std::function<void(Identity&)>& change,
                              const char* actor = kRequester) {
  Identity d = sample_identity();
  change(d);
  return request_identity(d, actor, governance_rules(), fake_agents(), kNow);
}

void make_receive_only(Identity& d) {
  d.actions = CapabilitySet::of({Capability::receive});
  d.targets.clear();
  d.principals.clear();
}

TEST_CASE("request: each field rule refuses with its own code") {
  using C = Capability;
  const std::vector<Row> rows = {
      {"the sample is accepted", [](Identity&) {}, ""},
      {"id with an upper-case letter", [](Identity& d) { d.id = "Helpdesk"; }, "id_invalid"},
      {"id of two characters", [](Identity& d) { d.id = "ab"; }, "id_invalid"},
      {"id starting with a digit", [](Identity& d) { d.id = "1bot"; }, "id_invalid"},
      {"id of 63 characters", [](Identity& d) { d.id = "a" + std::string(62, 'b'); }, ""},
      {"id of 64 characters", [](Identity& d) { d.id = "a" + std::string(63, 'b'); }, "id_invalid"},
      {"inbox without '@'", [](Identity& d) { d.inbox = "helpdesk"; }, "inbox_invalid"},
      {"inbox with a space", [](Identity& d) { d.inbox = "help desk@agents.example.com"; },
       "inbox_invalid"},
      {"inbox outside the agent domains", [](Identity& d) { d.inbox = "x@example.com"; },
       "inbox_not_agent"},
      {"inbox in a subdomain of an agent domain",
       [](Identity& d) { d.inbox = "x@sub.agents.example.com"; }, "inbox_not_agent"},
      {"inbox listed explicitly (normalised comparison)",
       [](Identity& d) { d.inbox = "listed@partner.example.org"; }, ""},
      {"purpose missing", [](Identity& d) { d.purpose.clear(); }, "purpose_missing"},
      {"revocation trigger missing", [](Identity& d) { d.revocation_trigger.clear(); },
       "revocation_trigger_missing"},
      {"no actions",
       [](Identity& d) {
         d.actions = {};
         d.targets.clear();
       },
       "actions_missing"},
      {"business owner empty", [](Identity& d) { d.business_owner.clear(); }, "owner_invalid"},
      {"system owner with a space", [](Identity& d) { d.system_owner = "s am"; }, "owner_invalid"},
      {"business owner is an agent", [](Identity& d) { d.business_owner = "sasl:bot-one"; },
       "agent_owner"},
      {"system owner is an agent", [](Identity& d) { d.system_owner = kAgentId; }, "agent_owner"},
      {"privileged without a principal", [](Identity& d) { d.principals.clear(); },
       "principal_missing"},
      {"receive-only without a principal", make_receive_only, ""},
      {"principal without kind", [](Identity& d) { d.principals = {"helpdesk"}; },
       "principal_invalid"},
      {"principal with an empty login", [](Identity& d) { d.principals = {"sasl:"}; },
       "principal_invalid"},
      {"principal with a newline", [](Identity& d) { d.principals = {"sasl:a\nb"}; },
       "principal_invalid"},
      {"cert principal", [](Identity& d) { d.principals = {"cert:CN=helpdesk,O=Example"}; }, ""},
      {"targets for an action not asked", [](Identity& d) { d.targets[C::send] = {"@x.org"}; },
       "target_without_action"},
      {"targets for receive", [](Identity& d) { d.targets[C::receive] = {"@x.org"}; },
       "target_invalid"},
      {"bad target pattern", [](Identity& d) { d.targets[C::reply] = {"nobody"}; },
       "pattern_invalid"},
      {"bad accept_from pattern", [](Identity& d) { d.accept_from = {"a*b@x.org"}; },
       "pattern_invalid"},
      {"grant issuer empty", [](Identity& d) { d.grant_issuers = {""}; }, "grant_issuer_invalid"},
      {"grant issuer is an agent",
       [](Identity& d) { d.grant_issuers = {"bot-one@agents.example.com"}; }, "agent_grant_issuer"},
      {"grant issuer is the identity itself", [](Identity& d) { d.grant_issuers = {d.id}; },
       "agent_grant_issuer"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto r = request_with(row.change);
      if (*row.rule == 0) {
        CHECK_MESSAGE(r.ok(), (r.ok() ? "" : r.refusal().message));
      } else {
        REQUIRE_FALSE(r.ok());
        CHECK(r.refusal().rule == row.rule);
        CHECK_FALSE(r.refusal().message.empty());
      }
    }
  }
}

TEST_CASE("request: pattern refusals quote the offending pattern") {
  auto r = request_with([](Identity& d) { d.accept_from = {"*@*"}; });
  REQUIRE_FALSE(r.ok());
  CHECK(r.refusal().message.find("'*@*'") != std::string::npos);
}

TEST_CASE("request: the naming rule follows governance.id_pattern") {
  auto rules = governance_rules();
  rules.id_pattern = "^agent-[0-9]+$";
  Identity d = sample_identity();
  auto refused = request_identity(d, kRequester, rules, fake_agents(), kNow);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.refusal().rule == "id_invalid");
  CHECK(refused.refusal().message.find("^agent-[0-9]+$") != std::string::npos);
  d.id = "agent-42";
  CHECK(request_identity(d, kRequester, rules, fake_agents(), kNow).ok());
}

TEST_CASE("request: the requester may not be an owner who approves the round") {
  SUBCASE("business owner requests") {
    auto r = request_with([](Identity&) {}, kBusinessOwner);
    REQUIRE_FALSE(r.ok());
    CHECK(r.refusal().rule == "self_approval");
  }
  SUBCASE("system owner requests a privileged identity") {
    auto r = request_with([](Identity&) {}, kSystemOwner);
    REQUIRE_FALSE(r.ok());
    CHECK(r.refusal().rule == "self_approval");
  }
  SUBCASE("system owner requests a receive-only identity (no system approval exists)") {
    CHECK(request_with(make_receive_only, kSystemOwner).ok());
  }
}

// The draft's own names are agent names from the moment the request commits: an identity whose
// owner is its own principal could never be approved (the owner would be refused as an agent),
// and an agent asking for itself is exactly what "no actor may be an agent" forbids.
TEST_CASE("request: the draft's own id, inbox and principals are agent names") {
  const std::vector<std::pair<const char*, std::function<Result<Identity>()>>> rows = {
      {"actor is the draft's id", [] { return request_with([](Identity&) {}, "helpdesk-bot"); }},
      {"actor is the draft's inbox",
       [] { return request_with([](Identity&) {}, "helpdesk@agents.example.com"); }},
      {"actor is the draft's principal login",
       [] { return request_with([](Identity&) {}, "helpdesk"); }},
      {"business owner is the draft's principal",
       [] { return request_with([](Identity& d) { d.business_owner = "sasl:helpdesk"; }); }},
      {"system owner is the draft's id",
       [] { return request_with([](Identity& d) { d.system_owner = d.id; }); }},
      {"grant issuer is the draft's inbox",
       [] { return request_with([](Identity& d) { d.grant_issuers = {d.inbox}; }); }},
  };
  for (const auto& [name, run] : rows) {
    SUBCASE(name) {
      auto r = run();
      CHECK_FALSE(r.ok());
      if (!r.ok())
        CHECK((r.refusal().rule == "agent_actor" || r.refusal().rule == "agent_owner" ||
               r.refusal().rule == "agent_grant_issuer"));
    }
  }
}

// With policy.local_part_case_sensitive = true an inbox keeps its local part's case
// ("Helpdesk@agents.example.com"); the draft's own inbox must still count as an agent name in
// any case, or the agent could act as a human on its own request.
TEST_CASE("request: the draft's inbox is an agent name under case-sensitive local parts") {
  auto rules = governance_rules();
  rules.address_rules.local_part_case_sensitive = true;
  Identity d = sample_identity();
  d.inbox = "Helpdesk@agents.example.com";
  SUBCASE("as the actor") {
    auto r = request_identity(d, "Helpdesk@agents.example.com", rules, fake_agents(), kNow);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.refusal().rule == "agent_actor");
  }
  SUBCASE("as the business owner") {
    d.business_owner = "Helpdesk@agents.example.com";
    auto r = request_identity(d, kRequester, rules, fake_agents(), kNow);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.refusal().rule == "agent_owner");
  }
}

}  // namespace
}  // namespace agentgate::policy
