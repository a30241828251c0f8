// Fixtures for the decision-engine tests: a fake tri-state registry (a map of identities that can
// be switched to "unavailable", with or without stale hints, and a map of grants), two active
// agents, and a World that holds the facts, the registry contents and the settings one row changes.
// Test-only.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "policy/address.hpp"
#include "policy/engine.hpp"
#include "test_support.hpp"

namespace agentgate::testing {

// The registry as the engine sees it. An outage is reported for every address (`all_down`) or for
// chosen ones (`down_for`); with `stale_hints` the last known record comes along, as the snapshot
// cache does.
class FakeRegistry final : public policy::IdentityLookup {
 public:
  void add(policy::Identity identity) {
    auto key = identity.inbox;
    by_inbox_.insert_or_assign(std::move(key), std::move(identity));
  }
  bool all_down = false;
  bool stale_hints = false;
  std::set<std::string, std::less<>> down_for;

  policy::Lookup by_inbox(std::string_view inbox) const override {
    auto it = by_inbox_.find(inbox);
    const policy::Identity* known = it == by_inbox_.end() ? nullptr : &it->second;
    if (all_down || down_for.count(inbox))
      return {policy::LookupStatus::unavailable, stale_hints ? known : nullptr};
    if (!known) return {policy::LookupStatus::not_found, nullptr};
    return {policy::LookupStatus::found, known};
  }
  // Grants by id; empty unless a test adds some (the proof tests do).
  std::map<std::string, policy::Grant, std::less<>> grants;
  const policy::Grant* grant(std::string_view id) const override {
    auto it = grants.find(id);
    return it == grants.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, policy::Identity, std::less<>> by_inbox_;
};

inline constexpr const char* kSales = "sales@agents.example.com";    // sales-bot: sends, replies
inline constexpr const char* kIntake = "intake@agents.example.com";  // intake-bot: receive-only
inline constexpr const char* kCustomer = "alice@customer.example";   // a send target of sales-bot
inline constexpr const char* kColleague = "bob@example.com";         // a reply target only
inline constexpr const char* kOutsider = "carol@example.com";        // trusted by both inboxes
inline constexpr const char* kStranger = "mallory@evil.example";     // trusted by nobody

// sales-bot: active, may receive, reply and send; sends to customers and to intake-bot, replies
// to example.com; binds SASL login "sales" and certificate "CN=sales-bot".
inline policy::Identity sales_bot() {
  auto i = sample_identity();
  i.id = "sales-bot";
  i.inbox = kSales;
  i.status = policy::Status::active;
  i.actions = policy::CapabilitySet::of(
      {policy::Capability::receive, policy::Capability::reply, policy::Capability::send});
  i.principals = {"sasl:sales", "cert:CN=sales-bot"};
  i.targets.clear();
  i.targets[policy::Capability::send] = {"*@customer.example", kIntake};
  i.targets[policy::Capability::reply] = {"*@example.com"};
  i.accept_from = {"*@example.com"};
  return i;
}

// intake-bot: active, receive-only, no principals; trusts example.com and sales-bot.
inline policy::Identity intake_bot() {
  auto i = sample_identity();
  i.id = "intake-bot";
  i.inbox = kIntake;
  i.status = policy::Status::active;
  i.actions = policy::CapabilitySet::of({policy::Capability::receive});
  i.principals.clear();
  i.targets.clear();
  i.accept_from = {"*@example.com", kSales};
  return i;
}

struct World {
  policy::MessageFacts facts;
  std::map<std::string, policy::Identity> identities;  // by id
  policy::PolicySettings settings;
  FakeRegistry registry_state;  // outage switches only; identities come from `identities`

  policy::Identity& id(const std::string& name) { return identities.at(name); }
  void set_from_header(std::string_view value) {
    facts.from_addresses = policy::extract_mailboxes(value, settings.address_rules);
  }
  FakeRegistry registry() const {
    FakeRegistry r = registry_state;
    for (const auto& [name, identity] : identities) r.add(identity);
    return r;
  }
  policy::Verdict evaluate(policy::Trace* trace = nullptr) const {
    auto r = registry();
    return policy::evaluate(facts, r, settings, trace);
  }
  policy::RecipientCheck check(std::string_view rcpt) const {
    auto r = registry();
    return policy::check_recipient(facts, rcpt, r, settings);
  }
};

inline policy::PolicySettings agent_settings() {
  policy::PolicySettings s;
  s.agent_domains = {"agents.example.com"};
  s.require_proof = false;  // presence of Agent-Proof is its own rows; verification is elsewhere
  s.gateway = "mta.example.com";
  return s;
}

// sales-bot sends, properly authenticated, to one of its send targets: accepted.
inline World outbound_world() {
  World w;
  w.settings = agent_settings();
  w.identities.emplace("sales-bot", sales_bot());
  w.identities.emplace("intake-bot", intake_bot());
  w.facts.client_addr = "192.0.2.10";
  w.facts.auth_login = "sales";
  w.facts.queue_id = "4Qx1";
  w.facts.mail_from = kSales;
  w.facts.recipients = {kCustomer};
  w.set_from_header("Sales Bot <sales@agents.example.com>");
  w.facts.message_id = "<m1@agents.example.com>";
  w.facts.subject = "Your quote";
  w.facts.now = kNow;
  return w;
}

// A trusted outside sender mails intake-bot: accepted.
inline World inbound_world() {
  World w = outbound_world();
  w.facts.auth_login.clear();
  w.facts.mail_from = kOutsider;
  w.set_from_header(kOutsider);
  w.facts.recipients = {kIntake};
  return w;
}

inline std::string names(const std::vector<policy::Reason>& reasons) {
  std::string out;
  for (auto r : reasons) out += (out.empty() ? "" : ",") + std::string(policy::to_string(r));
  return out.empty() ? "none" : out;
}
inline std::string name(policy::Action a) {
  return std::string(policy::to_string(a));
}

// One named row of an engine table: what to change in a world, and the verdict expected.
struct EngineRow {
  const char* name;
  std::function<void(World&)> change;
  std::vector<policy::Reason> reasons;
  policy::Action action;
  const char* detail_has;  // a fragment the detail must contain ("" when accepted)
};

// Applies the row to `w` and checks reasons (in order), action, and the detail sentence.
inline policy::Verdict check_row(const EngineRow& row, World w) {
  row.change(w);
  auto v = w.evaluate();
  CHECK(names(v.reasons) == names(row.reasons));
  CHECK(name(v.action) == name(row.action));
  CHECK(name(v.would_action) == name(row.action));
  if (row.reasons.empty()) {
    CHECK(v.detail.empty());
  } else {
    CHECK_FALSE(v.detail.empty());
    CHECK_MESSAGE(v.detail.find(row.detail_has) != std::string::npos, v.detail);
  }
  return v;
}

}  // namespace agentgate::testing
