// Decision formatting (SPEC sections 5 and 6): the ECS event carries the pinned field names with
// the decision's values; the SMTP reply text carries the reason code and event id and is safe
// for smfi_setreply (no CR/LF, '%' doubled, bounded); AgentGate-Result names the verdict;
// event ids are fixed-width hex, time-ordered and unique.
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "milter/decision_event.hpp"
#include "test_support.hpp"

namespace agentgate::milter {
namespace {

using nlohmann::json;
using policy::Action;
using policy::Reason;

constexpr const char* kEventId = "0190f1e2a3b4c5d6e7f8";

policy::MessageFacts sample_facts() {
  policy::MessageFacts f;
  f.client_addr = "192.0.2.10";
  f.auth_login = "sales";
  f.queue_id = "4Qx1ZK3Lz";
  f.mail_from = "sales@agents.example.com";
  f.recipients = {"alice@customer.example", "dave@customer.example"};
  f.from_addresses = {"sales@agents.example.com"};
  f.message_id = "<m1@agents.example.com>";
  f.subject = "Your quote";
  f.now = testing::kNow;
  return f;
}

// sales-bot, outbound, refused for two reasons.
Decision refused(const policy::MessageFacts& f) {
  Decision d;
  d.event_id = kEventId;
  d.stage = "eom";
  d.facts = &f;
  d.verdict.action = Action::reject;
  d.verdict.would_action = Action::reject;
  d.verdict.reasons = {Reason::principal_mismatch, Reason::proof_missing};
  d.verdict.directions = policy::kOutbound;
  d.verdict.sender_identity = "sales-bot";
  d.verdict.detail = "login 'intruder' is not a principal of identity sales-bot";
  d.to = f.recipients;
  return d;
}

policy::PolicySettings settings(policy::Mode mode = policy::Mode::enforce) {
  policy::PolicySettings s;
  s.mode = mode;
  s.gateway = "mta.example.com";
  s.agent_domains = {"agents.example.com"};
  return s;
}

TEST_CASE("ecs_event: SPEC section 6 fields carry the decision's values") {
  auto f = sample_facts();
  auto e = ecs_event(refused(f), settings(), "mx1.example.com");
  struct Row {
    const char* pointer;
    json expected;
  };
  const Row rows[] = {
      {"/event/id", kEventId},
      {"/event/kind", "event"},
      {"/event/category", json::array({"email"})},
      {"/event/action", "reject"},
      {"/event/outcome", "failure"},
      {"/event/reason", "login 'intruder' is not a principal of identity sales-bot"},
      {"/rule/name", "principal_mismatch"},
      {"/email/direction", "outbound"},
      {"/email/from/address", json::array({"sales@agents.example.com"})},
      {"/email/to/address", json::array({"alice@customer.example", "dave@customer.example"})},
      {"/email/message_id", "<m1@agents.example.com>"},
      {"/email/subject", "Your quote"},
      {"/email/local_id", "4Qx1ZK3Lz"},
      {"/source/ip", "192.0.2.10"},
      {"/observer/hostname", "mx1.example.com"},
      {"/user/name", "sales"},
      {"/gen_ai/agent/id", "sales-bot"},
      {"/agentgate/reasons", json::array({"principal_mismatch", "proof_missing"})},
      {"/agentgate/mode", "enforce"},
      {"/agentgate/would_action", "reject"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.pointer) {
      json::json_pointer p(row.pointer);
      REQUIRE(e.contains(p));
      CHECK(e.at(p).dump() == row.expected.dump());
    }
  }
  SUBCASE("agentgate.grant and agentgate.task are present as strings") {
    CHECK(e.at(json::json_pointer("/agentgate/grant")).is_string());
    CHECK(e.at(json::json_pointer("/agentgate/task")).is_string());
  }
  SUBCASE("@timestamp is ISO-8601 UTC") {
    REQUIRE(e.contains("@timestamp"));
    auto ts = e["@timestamp"].get<std::string>();
    CHECK(ts.size() >= 20);
    CHECK(ts[4] == '-');
    CHECK(ts[10] == 'T');
    CHECK(ts.back() == 'Z');
  }
  SUBCASE("nested objects, not dotted keys") {
    CHECK_FALSE(e.contains("event.id"));
    CHECK(e["event"].is_object());
    CHECK(e["email"]["from"].is_object());
  }
}

TEST_CASE("ecs_event: values follow the verdict") {
  auto f = sample_facts();
  struct Row {
    const char* name;
    unsigned directions;
    Action action;
    Action would;
    policy::Mode mode;
    std::vector<Reason> reasons;
    const char* direction;
    const char* outcome;
    const char* rule;
  };
  const Row rows[] = {
      {"inbound accepted",
       policy::kInbound,
       Action::accept,
       Action::accept,
       policy::Mode::enforce,
       {},
       "inbound",
       "success",
       "none"},
      {"agent to agent is internal",
       policy::kOutbound | policy::kInbound,
       Action::quarantine,
       Action::quarantine,
       policy::Mode::enforce,
       {Reason::sender_not_trusted},
       "internal",
       "failure",
       "sender_not_trusted"},
      {"tempfail",
       policy::kOutbound,
       Action::tempfail,
       Action::tempfail,
       policy::Mode::enforce,
       {Reason::store_unavailable},
       "outbound",
       "failure",
       "store_unavailable"},
      {"monitor: accepted, would reject",
       policy::kOutbound,
       Action::accept,
       Action::reject,
       policy::Mode::monitor,
       {Reason::identity_revoked, Reason::proof_missing},
       "outbound",
       "success",
       "identity_revoked"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto d = refused(f);
      d.verdict.directions = row.directions;
      d.verdict.action = row.action;
      d.verdict.would_action = row.would;
      d.verdict.reasons = row.reasons;
      auto e = ecs_event(d, settings(row.mode), "mx1");
      CHECK(e["email"]["direction"] == row.direction);
      CHECK(e["event"]["action"] == policy::to_string(row.action));
      CHECK(e["event"]["outcome"] == row.outcome);
      CHECK(e["rule"]["name"] == row.rule);
      CHECK(e["agentgate"]["reasons"].size() == row.reasons.size());
      CHECK(e["agentgate"]["would_action"] == policy::to_string(row.would));
      CHECK(e["agentgate"]["mode"] == (row.mode == policy::Mode::monitor ? "monitor" : "enforce"));
    }
  }
}

TEST_CASE("reply_text: reason code first, event id last, safe for smfi_setreply") {
  auto f = sample_facts();
  const std::string tail = std::string("(event ") + kEventId + ")";
  struct Row {
    const char* name;
    std::vector<Reason> reasons;
    std::string detail;
    const char* starts;
    const char* contains;
  };
  const Row rows[] = {
      {"ordinary refusal",
       {Reason::identity_revoked},
       "identity support-bot is revoked",
       "agentgate: identity_revoked: ",
       "identity support-bot is revoked"},
      {"first reason is the code",
       {Reason::principal_mismatch, Reason::proof_missing},
       "x",
       "agentgate: principal_mismatch: ",
       "x"},
      {"no reasons is an internal error",
       {},
       "could not decide",
       "agentgate: internal_error: ",
       "could not decide"},
      {"'%' is doubled",
       {Reason::recipient_not_permitted},
       "100% sure, %s %n",
       "agentgate: recipient_not_permitted: ",
       "100%% sure, %%s %%n"},
      {"CR and LF are stripped",
       {Reason::identity_revoked},
       "line one\r\n550 line two\rx\ny",
       "agentgate: identity_revoked: ",
       "line one"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto d = refused(f);
      d.verdict.reasons = row.reasons;
      d.verdict.detail = row.detail;
      auto r = reply_text(d);
      CHECK(r.starts_with(row.starts));
      CHECK(r.ends_with(tail));
      CHECK(r.find(row.contains) != std::string::npos);
      CHECK(r.find_first_of("\r\n") == std::string::npos);
      std::string undoubled = r;
      for (auto p = undoubled.find("%%"); p != std::string::npos; p = undoubled.find("%%", p))
        undoubled.erase(p, 2);
      CHECK(undoubled.find('%') == std::string::npos);
    }
  }
  SUBCASE("a 10 KB detail gives a reply under 1000 characters") {
    auto d = refused(f);
    d.verdict.detail = std::string(10240, '%');
    CHECK(reply_text(d).size() < 1000);
  }
}

TEST_CASE("reply_text: a long detail is cut, never the event id") {
  // Only the detail is cut: a long detail must never push "(event ID)" off the end, or the
  // refused sender loses the id to quote.
  auto f = sample_facts();
  const std::string tail = std::string("(event ") + kEventId + ")";
  for (char fill : {'x', '%', '\n'}) {
    CAPTURE(fill);
    auto d = refused(f);
    d.verdict.detail = std::string(10240, fill);
    auto r = reply_text(d);
    CHECK(r.size() < 1000);
    CHECK(r.starts_with("agentgate: principal_mismatch: "));
    CHECK(r.ends_with(tail));
  }
}

TEST_CASE("result_header: names verdict, direction, identities, reasons and event") {
  auto f = sample_facts();
  struct Row {
    const char* name;
    unsigned directions;
    Action would;
    std::vector<Reason> reasons;
    std::vector<std::string> recipients;
    bool untrusted;
    std::vector<const char*> has;
  };
  const Row rows[] = {
      {"accepted outbound",
       policy::kOutbound,
       Action::accept,
       {},
       {},
       false,
       {"verdict=accept", "direction=outbound", "identity=sales-bot", "reasons=none",
        "trust=trusted"}},
      {"quarantined untrusted inbound",
       policy::kInbound,
       Action::quarantine,
       {Reason::sender_not_trusted},
       {"intake-bot"},
       true,
       {"verdict=quarantine", "direction=inbound", "identity=intake-bot",
        "reasons=sender_not_trusted", "trust=untrusted"}},
      {"agent to agent names both identities",
       policy::kOutbound | policy::kInbound,
       Action::accept,
       {},
       {"intake-bot"},
       false,
       {"direction=internal", "identity=sales-bot,intake-bot;"}},
      {"an agent mailing only itself is named once",
       policy::kOutbound | policy::kInbound,
       Action::accept,
       {},
       {"sales-bot"},
       false,
       {"identity=sales-bot;"}},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto d = refused(f);
      d.verdict.directions = row.directions;
      d.verdict.action = d.verdict.would_action = row.would;
      d.verdict.reasons = row.reasons;
      d.verdict.untrusted = row.untrusted;
      d.verdict.recipient_identities = row.recipients;
      if (!(row.directions & policy::kOutbound)) d.verdict.sender_identity.clear();
      auto h = result_header(d, settings());
      CHECK(h.starts_with("mta.example.com; "));
      CHECK(h.find(std::string("event=") + kEventId) != std::string::npos);
      for (std::string fragment : row.has) {
        CAPTURE(fragment);
        CHECK(h.find(fragment) != std::string::npos);
      }
      CHECK(h.find_first_of("\r\n") == std::string::npos);
    }
  }
  SUBCASE("monitor mode is named") {
    auto d = refused(f);
    d.verdict.action = Action::accept;
    auto h = result_header(d, settings(policy::Mode::monitor));
    CHECK(h.find("mode=monitor") != std::string::npos);
    CHECK(h.find("reasons=principal_mismatch,proof_missing") != std::string::npos);
  }
}

TEST_CASE("result_header: every identity is named once") {
  // The sender is named once even when it is also a recipient listed after another agent.
  auto f = sample_facts();
  auto d = refused(f);
  d.verdict.directions = policy::kOutbound | policy::kInbound;
  d.verdict.action = d.verdict.would_action = Action::accept;
  d.verdict.reasons.clear();
  d.verdict.recipient_identities = {"intake-bot", "sales-bot"};
  auto h = result_header(d, settings());
  CHECK(h.find("identity=sales-bot,intake-bot;") != std::string::npos);
}

TEST_CASE("log_line: one line with queue id, stage, direction, action, reasons and event") {
  auto f = sample_facts();
  SUBCASE("enforce") {
    auto l = log_line(refused(f));
    for (std::string fragment :
         {"4Qx1ZK3Lz: eom outbound reject identity=sales-bot", "from=<sales@agents.example.com>",
          "to=<alice@customer.example,dave@customer.example>",
          "reasons=principal_mismatch,proof_missing", kEventId}) {
      CAPTURE(fragment);
      CHECK(l.find(fragment) != std::string::npos);
    }
    CHECK(l.find('\n') == std::string::npos);
  }
  SUBCASE("monitor names what enforce would do; no queue id yet is NOQUEUE") {
    auto g = f;
    g.queue_id.clear();
    auto d = refused(g);
    d.stage = "rcpt";
    d.verdict.action = Action::accept;
    auto l = log_line(d);
    CHECK(l.starts_with("NOQUEUE: rcpt outbound accept (would reject)"));
  }
}

TEST_CASE("make_event_id: 20 lower-case hex digits, time-ordered, unique over 10,000 calls") {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 10000; ++i) {
    auto id = make_event_id();
    REQUIRE(id.size() == 20);
    REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    REQUIRE(id.substr(0, 12) >= previous.substr(0, std::min<size_t>(12, previous.size())));
    previous = id;
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
}

}  // namespace
}  // namespace agentgate::milter
