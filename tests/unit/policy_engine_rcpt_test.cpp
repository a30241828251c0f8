// check_recipient, the RCPT-stage half of the engine (SPEC section 5: per-recipient problems are
// refused at RCPT). Outbound, a recipient passes when it is a target of any action the sender
// holds (the exact action is known only at end of message); inbound, the inbox checks apply.
// Whole-message matters (identity state, login, From, proof, trust) wait for end of message.
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

struct RcptRow {
  const char* name;
  std::function<void(World&)> change;  // applied to outbound_world()
  const char* rcpt;
  const char* reason;  // "none" when accepted
  Action action;
  unsigned direction;
  const char* identity;
};

const char* reason_name(const policy::RecipientCheck& c) {
  return c.reason ? policy::to_string(*c.reason).data() : "none";
}

void run(const RcptRow& row) {
  SUBCASE(row.name) {
    auto w = outbound_world();
    row.change(w);
    auto c = w.check(row.rcpt);
    CHECK(std::string(reason_name(c)) == row.reason);
    CHECK(name(c.action) == name(row.action));
    CHECK(c.direction == row.direction);
    CHECK(c.identity == row.identity);
    CHECK(c.detail.empty() == !c.reason.has_value());
  }
}

void nothing(World&) {}
void from_outsider(World& w) {
  w.facts.mail_from = kOutsider;
  w.facts.auth_login.clear();
}

TEST_CASE("check_recipient: an agent sender may address the targets of any action it holds") {
  const RcptRow rows[] = {
      {"a send target", nothing, kCustomer, "none", Action::accept, 0, ""},
      {"a reply target (the message may turn out a reply)", nothing, kColleague, "none",
       Action::accept, 0, ""},
      {"another agent that is a send target", nothing, kIntake, "none", Action::accept, 0, ""},
      {"nobody's target", nothing, "x@nowhere.example", "recipient_not_permitted", Action::reject,
       policy::kOutbound, "sales-bot"},
      {"targets of an action the identity no longer holds do not count",
       [](World& w) {
         w.id("sales-bot").actions = CapabilitySet::of({Capability::receive, Capability::reply});
       },
       kCustomer, "recipient_not_permitted", Action::reject, policy::kOutbound, "sales-bot"},
      {"a receive-only sender may not send at all: action_not_permitted",
       [](World& w) { w.facts.mail_from = kIntake; }, kCustomer, "action_not_permitted",
       Action::reject, policy::kOutbound, "intake-bot"},
      {"a receive-only sender is refused even for a listed target",
       [](World& w) {
         w.facts.mail_from = kIntake;
         w.id("intake-bot").targets[Capability::send] = {"*@customer.example"};
       },
       kCustomer, "action_not_permitted", Action::reject, policy::kOutbound, "intake-bot"},
      {"an override changes the RCPT action too",
       [](World& w) { w.settings.actions[Reason::recipient_not_permitted] = Action::quarantine; },
       "x@nowhere.example", "recipient_not_permitted", Action::quarantine, policy::kOutbound,
       "sales-bot"},
      {"a sender that may not send at all is left to end of message",
       [](World& w) { w.id("sales-bot").status = Status::revoked; }, "x@nowhere.example", "none",
       Action::accept, 0, ""},
      {"an unregistered agent sender is left to end of message",
       [](World& w) { w.facts.mail_from = "ghost@agents.example.com"; }, "x@nowhere.example",
       "none", Action::accept, 0, ""},
      {"login and From are end-of-message checks",
       [](World& w) {
         w.facts.auth_login = "intruder";
         w.facts.from_addresses.clear();
         w.settings.require_proof = true;
       },
       kCustomer, "none", Action::accept, 0, ""},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("check_recipient: an agent inbox must exist, be active and receive") {
  const RcptRow rows[] = {
      {"an active receiving inbox", from_outsider, kIntake, "none", Action::accept, 0, ""},
      {"not governed: an outside recipient", from_outsider, "x@example.org", "none", Action::accept,
       0, ""},
      {"unknown_agent_recipient", from_outsider, "ghost@agents.example.com",
       "unknown_agent_recipient", Action::reject, policy::kInbound, ""},
      {"inbox_inactive: suspended",
       [](World& w) {
         from_outsider(w);
         w.id("intake-bot").status = Status::suspended;
       },
       kIntake, "inbox_inactive", Action::reject, policy::kInbound, "intake-bot"},
      {"inbox_inactive: expired at the boundary second",
       [](World& w) {
         from_outsider(w);
         w.id("intake-bot").expires_at = kNow;
       },
       kIntake, "inbox_inactive", Action::reject, policy::kInbound, "intake-bot"},
      {"inbox_receive_not_permitted",
       [](World& w) {
         from_outsider(w);
         w.id("intake-bot").actions = CapabilitySet::of({Capability::send});
       },
       kIntake, "inbox_receive_not_permitted", Action::reject, policy::kInbound, "intake-bot"},
      {"an untrusted sender is marked at end of message, not refused here",
       [](World& w) { w.facts.mail_from = kStranger; }, kIntake, "none", Action::accept, 0, ""},
      {"the null sender reaches an active inbox", [](World& w) { w.facts.mail_from = ""; }, kIntake,
       "none", Action::accept, 0, ""},
      {"an agent sender to an inactive agent inbox: the inbox problem",
       [](World& w) { w.id("intake-bot").status = Status::revoked; }, kIntake, "inbox_inactive",
       Action::reject, policy::kInbound, "intake-bot"},
      {"a listed inbox outside the agent domains",
       [](World& w) {
         from_outsider(w);
         w.settings.agent_inboxes = {"bot@partner.example.org"};
       },
       "bot@partner.example.org", "unknown_agent_recipient", Action::reject, policy::kInbound, ""},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("check_recipient: an unreadable registry tempfails governed addresses only") {
  auto down = [](World& w) { w.registry_state.all_down = true; };
  const RcptRow rows[] = {
      {"agent sender", down, kCustomer, "store_unavailable", Action::tempfail, policy::kOutbound,
       ""},
      {"agent recipient, outside sender",
       [down](World& w) {
         down(w);
         from_outsider(w);
       },
       kIntake, "store_unavailable", Action::tempfail, policy::kInbound, ""},
      {"unregistered agent-domain recipient is not called unknown",
       [down](World& w) {
         down(w);
         from_outsider(w);
       },
       "ghost@agents.example.com", "store_unavailable", Action::tempfail, policy::kInbound, ""},
      {"outside sender and recipient: not governed, accepted",
       [down](World& w) {
         down(w);
         from_outsider(w);
       },
       "x@example.org", "none", Action::accept, 0, ""},
      {"only the recipient's lookup fails",
       [](World& w) { w.registry_state.down_for.insert(kIntake); }, kIntake, "store_unavailable",
       Action::tempfail, policy::kInbound, ""},
  };
  for (const auto& row : rows) run(row);
}

}  // namespace
}  // namespace agentgate::testing
