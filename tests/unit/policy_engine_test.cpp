// The outbound rules of SPEC section 5 that need no proof: an agent sender must be a registered,
// active identity, authenticate as one of its principals, put exactly itself in From, take an
// action it holds, mail only that action's targets and (when required) carry an Agent-Proof.
// Every row names the reason it proves and the verdict the engine must reach.
#include <string>

#include <doctest/doctest.h>

#include "policy_engine_support.hpp"

namespace agentgate::testing {
namespace {

using policy::Action;
using policy::Capability;
using policy::CapabilitySet;
using policy::Reason;
using policy::Status;

void run_outbound(const EngineRow& row) {
  SUBCASE(row.name) {
    auto v = check_row(row, outbound_world());
    CHECK(v.directions == policy::kOutbound);
    CHECK(v.governed());
    CHECK(v.recipient_identities.empty());
  }
}

TEST_CASE("engine: the sender identity's state is checked first and alone") {
  auto status = [](Status s) { return [s](World& w) { w.id("sales-bot").status = s; }; };
  const EngineRow rows[] = {
      {"active, authenticated, own From, send target: accepted",
       [](World&) {},
       {},
       Action::accept,
       ""},
      {"unknown_agent_sender: agent-domain mailbox with no identity",
       [](World& w) {
         w.facts.mail_from = "ghost@agents.example.com";
         w.set_from_header("ghost@agents.example.com");
       },
       {Reason::unknown_agent_sender},
       Action::reject,
       "ghost@agents.example.com"},
      {"identity_pending: status requested",
       status(Status::requested),
       {Reason::identity_pending},
       Action::reject,
       "sales-bot"},
      {"identity_pending: status owner_approved",
       status(Status::owner_approved),
       {Reason::identity_pending},
       Action::reject,
       "owner_approved"},
      {"identity_suspended",
       status(Status::suspended),
       {Reason::identity_suspended},
       Action::reject,
       "suspended"},
      {"identity_revoked",
       status(Status::revoked),
       {Reason::identity_revoked},
       Action::reject,
       "revoked"},
      {"identity_expired: status recorded as expired",
       status(Status::expired),
       {Reason::identity_expired},
       Action::reject,
       "expired"},
      {"identity_expired: at the boundary second (now == expires_at)",
       [](World& w) { w.id("sales-bot").expires_at = kNow; },
       {Reason::identity_expired},
       Action::reject,
       "expired"},
      {"identity_expired: not yet one second before expires_at",
       [](World& w) { w.id("sales-bot").expires_at = kNow + 1s; },
       {},
       Action::accept,
       ""},
      {"identity_expired: a suspended identity past expires_at is expired",
       [](World& w) {
         w.id("sales-bot").status = Status::suspended;
         w.id("sales-bot").expires_at = kNow - 1s;
       },
       {Reason::identity_expired},
       Action::reject,
       "expired"},
      {"identity_rejected",
       status(Status::rejected),
       {Reason::identity_rejected},
       Action::reject,
       "rejected"},
      {"an identity that may not send gets no further reasons (login, From, target, proof)",
       [](World& w) {
         w.id("sales-bot").status = Status::revoked;
         w.facts.auth_login = "someone-else";
         w.set_from_header("ceo@example.com");
         w.facts.recipients = {"x@nowhere.example"};
         w.settings.require_proof = true;
       },
       {Reason::identity_revoked},
       Action::reject,
       "revoked"},
  };
  for (const auto& row : rows) run_outbound(row);
  SUBCASE("the sender identity is named in the verdict once it is found") {
    auto w = outbound_world();
    w.id("sales-bot").status = Status::suspended;
    CHECK(w.evaluate().sender_identity == "sales-bot");
  }
}

TEST_CASE("engine: principal_mismatch unless the session authenticated as a bound principal") {
  auto login = [](const char* l, const char* cert) {
    return [l, cert](World& w) {
      w.facts.auth_login = l;
      w.facts.cert_subject = cert;
    };
  };
  const EngineRow rows[] = {
      {"wrong SASL login",
       login("intruder", ""),
       {Reason::principal_mismatch},
       Action::reject,
       "'intruder'"},
      {"no login and no certificate",
       login("", ""),
       {Reason::principal_mismatch},
       Action::reject,
       "must authenticate"},
      {"certificate subject matching a cert: principal passes",
       login("", "CN=sales-bot"),
       {},
       Action::accept,
       ""},
      {"a certificate subject equal to a sasl: login does not pass",
       login("", "sales"),
       {Reason::principal_mismatch},
       Action::reject,
       "sales-bot"},
      {"a login equal to a cert: subject does not pass",
       login("CN=sales-bot", ""),
       {Reason::principal_mismatch},
       Action::reject,
       "CN=sales-bot"},
      {"the prefixed principal text is not a login",
       login("sasl:sales", ""),
       {Reason::principal_mismatch},
       Action::reject,
       "sasl:sales"},
      {"an identity without principals can never pass",
       [](World& w) { w.id("sales-bot").principals.clear(); },
       {Reason::principal_mismatch},
       Action::reject,
       "sales-bot"},
  };
  for (const auto& row : rows) run_outbound(row);
}

TEST_CASE("engine: header_from_mismatch unless From holds exactly the envelope sender") {
  auto from = [](const char* value) { return [value](World& w) { w.set_from_header(value); }; };
  const EngineRow rows[] = {
      {"missing From",
       [](World& w) { w.facts.from_addresses.clear(); },
       {Reason::header_from_mismatch},
       Action::reject,
       kSales},
      {"two From mailboxes, the sender among them",
       from("sales@agents.example.com, ceo@example.com"),
       {Reason::header_from_mismatch},
       Action::reject,
       kSales},
      {"the sender twice is still two mailboxes",
       from("sales@agents.example.com, Sales <sales@agents.example.com>"),
       {Reason::header_from_mismatch},
       Action::reject,
       kSales},
      {"a different address",
       from("\"Sales\" <ceo@example.com>"),
       {Reason::header_from_mismatch},
       Action::reject,
       kSales},
      {"a lookalike domain",
       from("sales@agents.example.com.evil.example"),
       {Reason::header_from_mismatch},
       Action::reject,
       kSales},
      {"domain in another case passes",
       from("\"Sales Bot\" <sales@AGENTS.Example.COM>"),
       {},
       Action::accept,
       ""},
      {"local part in another case passes under default rules",
       from("SALES@agents.example.com (the bot)"),
       {},
       Action::accept,
       ""},
      {"local part in another case fails when local parts are case-sensitive",
       [](World& w) {
         w.settings.address_rules.local_part_case_sensitive = true;
         w.set_from_header("SALES@agents.example.com");
       },
       {Reason::header_from_mismatch},
       Action::reject,
       kSales},
  };
  for (const auto& row : rows) run_outbound(row);
}

TEST_CASE("engine: action_not_permitted for an action the identity does not hold") {
  auto receive_only = [](World& w) {
    auto& i = w.id("sales-bot");
    i.actions = CapabilitySet::of({Capability::receive});
  };
  const EngineRow rows[] = {
      {"a receive-only identity sends",
       receive_only,
       {Reason::action_not_permitted},
       Action::reject,
       "may not send"},
      {"a receive-only identity without principals sends: both reasons, in check order",
       [](World& w) {
         w.facts.mail_from = kIntake;
         w.set_from_header(kIntake);
         w.facts.auth_login.clear();
       },
       {Reason::principal_mismatch, Reason::action_not_permitted},
       Action::reject,
       "must authenticate"},
      {"in_reply_to set makes it a reply; the identity lacks reply",
       [](World& w) {
         w.id("sales-bot").actions = CapabilitySet::of({Capability::receive, Capability::send});
         w.facts.in_reply_to = "<q1@customer.example>";
       },
       {Reason::action_not_permitted},
       Action::reject,
       "may not reply"},
      {"no in_reply_to makes it a send; the identity holds only reply",
       [](World& w) {
         w.id("sales-bot").actions = CapabilitySet::of({Capability::receive, Capability::reply});
         w.facts.recipients = {kColleague};
       },
       {Reason::action_not_permitted},
       Action::reject,
       "may not send"},
      {"a reply to a reply target by an identity holding reply passes",
       [](World& w) {
         w.facts.in_reply_to = "<q1@example.com>";
         w.facts.recipients = {kColleague};
       },
       {},
       Action::accept,
       ""},
      {"targets listed for an action the identity lacks do not rescue it",
       [](World& w) {
         w.id("sales-bot").actions = CapabilitySet::of({Capability::receive, Capability::reply});
       },
       {Reason::action_not_permitted},
       Action::reject,
       "may not send"},
  };
  for (const auto& row : rows) run_outbound(row);
}

TEST_CASE("engine: recipient_not_permitted for a recipient outside the action's targets") {
  auto to = [](std::vector<std::string> rcpts) {
    return [rcpts](World& w) { w.facts.recipients = rcpts; };
  };
  const EngineRow rows[] = {
      {"a send to a target of reply only",
       to({kColleague}),
       {Reason::recipient_not_permitted},
       Action::reject,
       kColleague},
      {"a reply to a target of send only",
       [](World& w) { w.facts.in_reply_to = "<q1@customer.example>"; },
       {Reason::recipient_not_permitted},
       Action::reject,
       "reply target"},
      {"a subdomain of a @domain target",
       to({"x@eu.customer.example"}),
       {Reason::recipient_not_permitted},
       Action::reject,
       "x@eu.customer.example"},
      {"one stranger among targets is reported once, by name",
       to({kCustomer, "x@nowhere.example", "y@nowhere.example", "dave@customer.example"}),
       {Reason::recipient_not_permitted},
       Action::reject,
       "x@nowhere.example"},
      {"several recipients all within targets",
       to({kCustomer, "dave@customer.example"}),
       {},
       Action::accept,
       ""},
  };
  for (const auto& row : rows) run_outbound(row);
}

TEST_CASE(
    "engine: proof_missing only when required and absent; a present proof is always checked") {
  auto proof = [](bool required, bool present) {
    return [required, present](World& w) {
      w.settings.require_proof = required;
      if (present) w.facts.agent_proofs = {"eyJhbGciOiJFZERTQSJ9.e30.sig"};
    };
  };
  const EngineRow rows[] = {
      {"required and absent",
       proof(true, false),
       {Reason::proof_missing},
       Action::reject,
       "Agent-Proof"},
      {"required and present but malformed",
       proof(true, true),
       {Reason::proof_malformed},
       Action::reject,
       ""},
      {"not required, present but malformed: still refused",
       proof(false, true),
       {Reason::proof_malformed},
       Action::reject,
       ""},
      {"not required and absent", proof(false, false), {}, Action::accept, ""},
  };
  for (const auto& row : rows) run_outbound(row);
  SUBCASE("inbound-only mail never needs a proof") {
    auto w = inbound_world();
    w.settings.require_proof = true;
    auto v = w.evaluate();
    CHECK(names(v.reasons) == "none");
    CHECK(v.directions == policy::kInbound);
  }
}

TEST_CASE("engine: outbound reasons come in check order; the detail is the first one's") {
  auto w = outbound_world();
  w.settings.require_proof = true;
  w.facts.auth_login = "intruder";
  w.set_from_header("ceo@example.com");
  w.facts.recipients = {"x@nowhere.example", "y@nowhere.example"};
  auto v = w.evaluate();
  CHECK(names(v.reasons) ==
        "principal_mismatch,header_from_mismatch,recipient_not_permitted,"
        "proof_missing");
  CHECK(v.detail.find("'intruder'") != std::string::npos);
  CHECK(name(v.action) == "reject");
}

}  // namespace
}  // namespace agentgate::testing
