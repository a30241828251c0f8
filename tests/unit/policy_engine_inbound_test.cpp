// The inbound rules of SPEC section 5 and how the engine combines findings: which mail is
// governed at all, the inbox checks, trust marking, agent-to-agent mail, registry outages
// (tempfail, never "unknown"), severity ordering, config overrides and monitor mode.
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

TEST_CASE("engine: inbox checks for each agent recipient") {
  auto inbox_status = [](Status s) { return [s](World& w) { w.id("intake-bot").status = s; }; };
  const EngineRow rows[] = {
      {"a trusted sender mails an active receiving inbox: accepted",
       [](World&) {},
       {},
       Action::accept,
       ""},
      {"unknown_agent_recipient: agent-domain mailbox with no identity",
       [](World& w) { w.facts.recipients = {"ghost@agents.example.com"}; },
       {Reason::unknown_agent_recipient},
       Action::reject,
       "ghost@agents.example.com"},
      {"inbox_inactive: requested",
       inbox_status(Status::requested),
       {Reason::inbox_inactive},
       Action::reject,
       "intake-bot"},
      {"inbox_inactive: suspended",
       inbox_status(Status::suspended),
       {Reason::inbox_inactive},
       Action::reject,
       "suspended"},
      {"inbox_inactive: revoked",
       inbox_status(Status::revoked),
       {Reason::inbox_inactive},
       Action::reject,
       "revoked"},
      {"inbox_inactive: expired at the boundary second",
       [](World& w) { w.id("intake-bot").expires_at = kNow; },
       {Reason::inbox_inactive},
       Action::reject,
       "expired"},
      {"inbox_receive_not_permitted: the identity may only send",
       [](World& w) { w.id("intake-bot").actions = CapabilitySet::of({Capability::send}); },
       {Reason::inbox_receive_not_permitted},
       Action::reject,
       "intake-bot"},
      {"sender_not_trusted: sender outside accept_from is quarantined",
       [](World& w) { w.facts.mail_from = kStranger; },
       {Reason::sender_not_trusted},
       Action::quarantine,
       kStranger},
      {"sender_not_trusted: an empty accept_from trusts nobody",
       [](World& w) { w.id("intake-bot").accept_from.clear(); },
       {Reason::sender_not_trusted},
       Action::quarantine,
       kOutsider},
      {"sender_not_trusted: the null sender is untrusted",
       [](World& w) { w.facts.mail_from = ""; },
       {Reason::sender_not_trusted},
       Action::quarantine,
       "<>"},
      {"a non-agent recipient beside the inbox adds nothing",
       [](World& w) {
         w.facts.recipients = {"someone@example.org", kIntake};
       },
       {},
       Action::accept,
       ""},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto v = check_row(row, inbound_world());
      CHECK(v.directions == policy::kInbound);
      CHECK(v.sender_identity.empty());
      bool found = row.reasons.empty() || row.reasons.front() != Reason::unknown_agent_recipient;
      CHECK(v.recipient_identities ==
            (found ? std::vector<std::string>{"intake-bot"} : std::vector<std::string>{}));
      CHECK(v.untrusted == (!row.reasons.empty() && row.reasons[0] == Reason::sender_not_trusted));
    }
  }
}

TEST_CASE("engine: which addresses are governed") {
  struct Row {
    const char* name;
    const char* from;
    std::vector<std::string> to;
    std::vector<std::string> listed;
    unsigned directions;
    const char* reasons;
  };
  const Row rows[] = {
      {"outside sender to outside recipients: not governed, accepted",
       kOutsider,
       {"x@example.org", "y@customer.example"},
       {},
       0,
       "none"},
      {"null sender to an outside recipient: not governed", "", {"x@example.org"}, {}, 0, "none"},
      {"a listed inbox outside the agent domains is governed as a recipient",
       kOutsider,
       {"bot@partner.example.org"},
       {"bot@partner.example.org"},
       policy::kInbound,
       "unknown_agent_recipient"},
      {"a listed inbox outside the agent domains is governed as a sender",
       "bot@partner.example.org",
       {"x@example.org"},
       {"bot@partner.example.org"},
       policy::kOutbound,
       "unknown_agent_sender"},
      {"a look-alike of an agent domain is not governed",
       "x@agents.example.com.evil.example",
       {"y@agents.example.com.evil.example"},
       {},
       0,
       "none"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto w = inbound_world();
      w.facts.mail_from = row.from;
      w.set_from_header(row.from);
      w.facts.recipients = row.to;
      w.settings.agent_inboxes = row.listed;
      auto v = w.evaluate();
      CHECK(v.directions == row.directions);
      CHECK(v.governed() == (row.directions != 0));
      CHECK(names(v.reasons) == row.reasons);
      if (row.directions == 0) {
        CHECK(name(v.action) == "accept");
        CHECK(v.detail.empty());
      }
    }
  }
  SUBCASE("a registered listed inbox outside the agent domains is checked like any inbox") {
    auto w = inbound_world();
    auto partner = intake_bot();
    partner.id = "partner-bot";
    partner.inbox = "bot@partner.example.org";
    partner.status = Status::suspended;
    w.identities.emplace("partner-bot", partner);
    w.settings.agent_inboxes = {"bot@partner.example.org"};
    w.facts.recipients = {"bot@partner.example.org"};
    auto v = w.evaluate();
    CHECK(v.directions == policy::kInbound);
    CHECK(names(v.reasons) == "inbox_inactive");
    CHECK(v.recipient_identities == std::vector<std::string>{"partner-bot"});
  }
}

TEST_CASE("engine: a trailing root dot does not take an address out of the agent domains") {
  auto w = inbound_world();
  w.facts.mail_from = policy::normalize_address("<ghost@Agents.Example.COM.>");
  w.facts.recipients = {policy::normalize_address("<intake@agents.example.com.>")};
  auto v = w.evaluate();
  CHECK(v.directions == (policy::kOutbound | policy::kInbound));
  CHECK(names(v.reasons) == "unknown_agent_sender,sender_not_trusted");
  CHECK(v.recipient_identities == std::vector<std::string>{"intake-bot"});
}

TEST_CASE("engine: agent-to-agent mail is outbound and inbound at once") {
  SUBCASE("clean: both bits, both identities, accepted") {
    auto w = outbound_world();
    w.facts.recipients = {kIntake};
    auto v = w.evaluate();
    CHECK(v.directions == (policy::kOutbound | policy::kInbound));
    CHECK(v.sender_identity == "sales-bot");
    CHECK(v.recipient_identities == std::vector<std::string>{"intake-bot"});
    CHECK(names(v.reasons) == "none");
  }
  SUBCASE("outbound reasons first, then inbound ones, most severe action") {
    auto w = outbound_world();
    w.facts.recipients = {kIntake};
    w.facts.auth_login = "intruder";
    w.id("intake-bot").accept_from = {"*@example.com"};
    auto v = w.evaluate();
    CHECK(v.directions == (policy::kOutbound | policy::kInbound));
    CHECK(names(v.reasons) == "principal_mismatch,sender_not_trusted");
    CHECK(v.untrusted);
    CHECK(name(v.action) == "reject");
    CHECK(v.detail.find("intruder") != std::string::npos);
  }
}

TEST_CASE("engine: an unreadable registry tempfails governed mail and never says unknown") {
  struct Row {
    const char* name;
    const char* from;
    const char* to;
    bool stale_hints;
    unsigned directions;
    const char* reasons;
    Action action;
  };
  const Row rows[] = {
      {"agent-domain sender", kSales, kCustomer, false, policy::kOutbound, "store_unavailable",
       Action::tempfail},
      {"agent-domain recipient", kOutsider, kIntake, false, policy::kInbound, "store_unavailable",
       Action::tempfail},
      {"unregistered agent-domain sender is not reported unknown", "ghost@agents.example.com",
       kCustomer, false, policy::kOutbound, "store_unavailable", Action::tempfail},
      {"agent to agent: one reason for both directions", kSales, kIntake, false,
       policy::kOutbound | policy::kInbound, "store_unavailable", Action::tempfail},
      {"outside addresses without stale hints are not governed", kOutsider, "x@example.org", false,
       0, "none", Action::accept},
      {"a stale active record still tempfails (it says governed, never may send)", kSales,
       kCustomer, true, policy::kOutbound, "store_unavailable", Action::tempfail},
      {"a stale record makes an unlisted outside inbox governed", kOutsider,
       "bot@partner.example.org", true, policy::kInbound, "store_unavailable", Action::tempfail},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto w = outbound_world();
      auto partner = intake_bot();
      partner.id = "partner-bot";
      partner.inbox = "bot@partner.example.org";
      w.identities.emplace("partner-bot", partner);
      w.facts.mail_from = row.from;
      w.set_from_header(row.from);
      w.facts.recipients = {row.to};
      w.registry_state.all_down = true;
      w.registry_state.stale_hints = row.stale_hints;
      auto v = w.evaluate();
      CHECK(v.directions == row.directions);
      CHECK(names(v.reasons) == row.reasons);
      CHECK(name(v.action) == name(row.action));
      if (row.action == Action::tempfail) CHECK_FALSE(v.detail.empty());
    }
  }
}

TEST_CASE("engine: the verdict takes the most severe action among its reasons") {
  // A stranger mails several inboxes; each recipient contributes one finding.
  struct Row {
    const char* name;
    std::vector<std::string> to;
    const char* reasons;
    Action action;
  };
  const char* down = "ops@agents.example.com";     // its lookup fails: tempfail
  const char* ghost = "ghost@agents.example.com";  // not registered: reject
  const Row rows[] = {
      {"quarantine beats accept",
       {"x@example.org", kIntake},
       "sender_not_trusted",
       Action::quarantine},
      {"tempfail beats quarantine",
       {kIntake, down},
       "sender_not_trusted,store_unavailable",
       Action::tempfail},
      {"tempfail beats quarantine in either order",
       {down, kIntake},
       "store_unavailable,sender_not_trusted",
       Action::tempfail},
      {"reject beats tempfail",
       {down, ghost},
       "store_unavailable,unknown_agent_recipient",
       Action::reject},
      {"reject beats quarantine",
       {kIntake, ghost},
       "sender_not_trusted,unknown_agent_recipient",
       Action::reject},
      {"reject beats all",
       {kIntake, down, ghost},
       "sender_not_trusted,store_unavailable,unknown_agent_recipient",
       Action::reject},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto w = inbound_world();
      w.facts.mail_from = kStranger;
      w.facts.recipients = row.to;
      w.registry_state.down_for.insert(down);
      auto v = w.evaluate();
      CHECK(names(v.reasons) == row.reasons);
      CHECK(name(v.action) == name(row.action));
    }
  }
}

TEST_CASE("engine: reasons are deduplicated; the detail is the first finding's") {
  auto w = inbound_world();
  w.facts.mail_from = kStranger;
  auto second = intake_bot();
  second.id = "second-bot";
  second.inbox = "second@agents.example.com";
  w.identities.emplace("second-bot", second);
  w.facts.recipients = {"ghost@agents.example.com", kIntake, "second@agents.example.com",
                        "phantom@agents.example.com"};
  auto v = w.evaluate();
  CHECK(names(v.reasons) == "unknown_agent_recipient,sender_not_trusted");
  CHECK(v.detail.find("ghost@agents.example.com") != std::string::npos);
  CHECK(v.recipient_identities == std::vector<std::string>{"intake-bot", "second-bot"});
}

TEST_CASE("engine: policy.actions overrides the default action of a reason") {
  struct Row {
    const char* name;
    Reason reason;
    Action to;
    std::function<void(World&)> change;
    Action expected;
  };
  const Row rows[] = {
      {"sender_not_trusted -> reject", Reason::sender_not_trusted, Action::reject,
       [](World& w) { w.facts.mail_from = kStranger; }, Action::reject},
      {"sender_not_trusted -> accept (still marked untrusted)", Reason::sender_not_trusted,
       Action::accept, [](World& w) { w.facts.mail_from = kStranger; }, Action::accept},
      {"recipient_not_permitted -> quarantine", Reason::recipient_not_permitted, Action::quarantine,
       [](World& w) {
         w = outbound_world();
         w.facts.recipients = {kColleague};
       },
       Action::quarantine},
      {"an override leaves other reasons at their default", Reason::recipient_not_permitted,
       Action::quarantine,
       [](World& w) {
         w = outbound_world();
         w.facts.recipients = {kColleague};
         w.settings.require_proof = true;
       },
       Action::reject},
      {"store_unavailable -> reject", Reason::store_unavailable, Action::reject,
       [](World& w) { w.registry_state.all_down = true; }, Action::reject},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto w = inbound_world();
      row.change(w);
      w.settings.actions[row.reason] = row.to;
      auto v = w.evaluate();
      REQUIRE_FALSE(v.reasons.empty());
      CHECK(v.reasons.front() == row.reason);
      CHECK(name(v.action) == name(row.expected));
      if (row.reason == Reason::sender_not_trusted) CHECK(v.untrusted);
    }
  }
}

TEST_CASE("engine: monitor mode accepts everything and records what enforce would do") {
  struct Row {
    const char* name;
    std::function<void(World&)> change;
    const char* reasons;
    Action would;
  };
  const Row rows[] = {
      {"a clean message", [](World&) {}, "none", Action::accept},
      {"a revoked sender would be rejected",
       [](World& w) { w.id("sales-bot").status = Status::revoked; }, "identity_revoked",
       Action::reject},
      {"an outage would tempfail", [](World& w) { w.registry_state.all_down = true; },
       "store_unavailable", Action::tempfail},
      {"a stranger to an inbox would be quarantined",
       [](World& w) {
         w.facts.mail_from = kStranger;
         w.facts.recipients = {kIntake};
       },
       "sender_not_trusted", Action::quarantine},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto w = outbound_world();
      w.settings.mode = policy::Mode::monitor;
      row.change(w);
      auto v = w.evaluate();
      CHECK(name(v.action) == "accept");
      CHECK(name(v.would_action) == name(row.would));
      CHECK(names(v.reasons) == row.reasons);
      CHECK(v.governed());
      CHECK(v.detail.empty() == (row.would == Action::accept));
    }
  }
}

}  // namespace
}  // namespace agentgate::testing
