// ECS to OCSF 1.1.0 Email Activity (cli/ocsf.hpp, SPEC section 6): every ECS action maps to
// its activity, disposition, action and status; the attributes OCSF requires are present with
// their types; only OCSF 1.1 names appear at the top level; what OCSF has no attribute for
// rides in unmapped.agentgate; what is not an event is refused, never thrown on; an event built
// by milter::ecs_event (what agentgated writes) maps the same way.
#include <cstdint>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "cli/ocsf.hpp"
#include "common/event_chain.hpp"
#include "milter/decision_event.hpp"
#include "test_support.hpp"

namespace agentgate::cli {
namespace {

using nlohmann::json;

// An outbound reject as agentgated writes it (milter/decision_event.cpp + the event log chain).
json sample_event() {
  return json::parse(R"({
    "@timestamp": "2026-12-01T10:00:00.123Z",
    "event": {"id": "0190f1e2a3b4c5d6e7f8", "kind": "event", "category": ["email"],
              "type": ["info"], "action": "reject", "outcome": "failure",
              "reason": "login 'intruder' is not a principal of identity sales-bot",
              "module": "agentgate", "sequence": 42, "hash": "ab12"},
    "rule": {"name": "principal_mismatch"},
    "email": {"direction": "outbound", "from": {"address": ["sales@agents.example.com"]},
              "to": {"address": ["alice@customer.example", "dave@customer.example"]},
              "message_id": "<m1@agents.example.com>", "subject": "Your quote",
              "local_id": "4Qx1ZK3Lz"},
    "source": {"ip": "192.0.2.10"},
    "observer": {"hostname": "mx1.example.com", "product": "agentgate", "type": "mta-filter"},
    "user": {"name": "intruder"},
    "gen_ai": {"agent": {"id": "sales-bot"}},
    "agentgate": {"reasons": ["principal_mismatch", "proof_missing"], "grant": "g-1",
                  "task": "quote-42", "mode": "enforce", "would_action": "reject",
                  "stage": "eom", "untrusted": false, "recipient_identities": [],
                  "prev_hash": "cd34"}
  })");
}

OcsfOptions options() {
  return {"0.1.0", "events.jsonl"};
}

json convert(const json& ecs) {
  auto r = ecs_to_ocsf(ecs, options());
  REQUIRE(r.ok());
  return r.value();
}

TEST_CASE("ecs_to_ocsf: each ECS action maps to its activity, disposition, action and status") {
  struct Row {
    const char* name;
    const char* action;
    const char* direction;
    const char* outcome;  // "" leaves event.outcome out
    const char* mode;
    const char* would_action;
    int activity_id, disposition_id, action_id, status_id, severity_id;
  };
  const Row rows[] = {
      {"accept outbound: Send, Allowed", "accept", "outbound", "success", "enforce", "accept", 1, 1,
       1, 1, 1},
      {"accept inbound: Receive, Allowed", "accept", "inbound", "success", "enforce", "accept", 2,
       1, 1, 1, 1},
      {"accept internal: Scan, Allowed", "accept", "internal", "success", "enforce", "accept", 3, 1,
       1, 1, 1},
      {"reject outbound: Blocked, Denied, Failure", "reject", "outbound", "failure", "enforce",
       "reject", 1, 2, 2, 2, 3},
      {"tempfail inbound: Delayed, Denied, Failure", "tempfail", "inbound", "failure", "enforce",
       "tempfail", 2, 14, 2, 2, 2},
      {"quarantine inbound: Quarantined, Denied, Failure", "quarantine", "inbound", "failure",
       "enforce", "quarantine", 2, 3, 2, 2, 3},
      {"monitor accept enforce would reject: Detected, Allowed", "accept", "outbound", "success",
       "monitor", "reject", 1, 15, 1, 1, 2},
      {"monitor accept enforce would accept: Allowed", "accept", "outbound", "success", "monitor",
       "accept", 1, 1, 1, 1, 1},
      {"release of held mail: Other activity, Restored, Allowed", "release", "inbound", "success",
       "enforce", "", 99, 9, 1, 1, 1},
      {"delete of held mail: Other activity, Deleted, Denied", "delete", "inbound", "success",
       "enforce", "", 99, 5, 2, 1, 1},
      {"unknown action: Other disposition, Unknown action and status", "bounce", "unknown", "",
       "enforce", "", 3, 99, 0, 0, 0},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto ecs = sample_event();
      ecs["event"]["action"] = row.action;
      ecs["email"]["direction"] = row.direction;
      if (*row.outcome)
        ecs["event"]["outcome"] = row.outcome;
      else
        ecs["event"].erase("outcome");
      ecs["agentgate"]["mode"] = row.mode;
      ecs["agentgate"]["would_action"] = row.would_action;
      auto r = convert(ecs);
      CHECK(r["activity_id"] == row.activity_id);
      CHECK(r["type_uid"] == 400900 + row.activity_id);
      CHECK(r["disposition_id"] == row.disposition_id);
      CHECK(r["action_id"] == row.action_id);
      CHECK(r["status_id"] == row.status_id);
      CHECK(r["severity_id"] == row.severity_id);
      CHECK_FALSE(r["disposition"].get<std::string>().empty());
      CHECK_FALSE(r["activity_name"].get<std::string>().empty());
    }
  }
  SUBCASE("an unknown action keeps its name as the disposition text") {
    auto ecs = sample_event();
    ecs["event"]["action"] = "bounce";
    CHECK(convert(ecs)["disposition"] == "bounce");
  }
  SUBCASE("admin actions name themselves in activity_name") {
    auto ecs = sample_event();
    ecs["event"]["action"] = "release";
    CHECK(convert(ecs)["activity_name"] == "Release");
    ecs["event"]["action"] = "delete";
    CHECK(convert(ecs)["type_name"] == "Email Activity: Delete");
  }
}

// The event exactly as agentgated builds and chains it (milter::ecs_event + the event log).
json written_event(policy::Action action, policy::Action would, policy::Mode mode,
                   const policy::MessageFacts& f) {
  milter::Decision d;
  d.event_id = "0190f1e2a3b4c5d6e7f8";
  d.stage = "eom";
  d.facts = &f;
  d.verdict.action = action;
  d.verdict.would_action = would;
  d.verdict.reasons = {policy::Reason::sender_not_trusted};
  d.verdict.directions = policy::kInbound;
  d.verdict.detail = "bob@partner.example is not in accept_from of support-bot";
  d.to = f.recipients;
  policy::PolicySettings s;
  s.mode = mode;
  s.gateway = "mta.example.com";
  auto e = milter::ecs_event(d, s, "mx1.example.com");
  e["event"]["sequence"] = 7;
  e["agentgate"]["prev_hash"] = common::kEventGenesisHash;
  e["event"]["hash"] = common::event_hash(e);
  return e;
}

TEST_CASE("ecs_to_ocsf: an event as agentgated writes it") {
  policy::MessageFacts f;
  f.client_addr = "198.51.100.7";
  f.queue_id = "4Qx1ZK3Lz";
  f.mail_from = "bob@partner.example";
  f.recipients = {"support-bot@agents.example.com"};
  f.message_id = "<m2@partner.example>";
  f.subject = "Invoice";
  f.now = testing::kNow;
  SUBCASE("an inbound quarantine: Receive, Quarantined, Denied, Failure") {
    auto ecs = written_event(policy::Action::quarantine, policy::Action::quarantine,
                             policy::Mode::enforce, f);
    auto r = convert(ecs);
    CHECK(r["activity_id"] == 2);
    CHECK(r["direction_id"] == 1);
    CHECK(r["disposition_id"] == 3);
    CHECK(r["action_id"] == 2);
    CHECK(r["status_id"] == 2);
    CHECK(r["time"] == *iso8601_to_epoch_ms(ecs["@timestamp"].get<std::string>()));
    CHECK(r["email"]["smtp_from"] == "bob@partner.example");
    CHECK(r["email"]["smtp_to"] == json::array({"support-bot@agents.example.com"}));
    CHECK(r["email"]["uid"] == "4Qx1ZK3Lz");
    CHECK(r["src_endpoint"]["ip"] == "198.51.100.7");
    CHECK(r["metadata"]["uid"] == "0190f1e2a3b4c5d6e7f8");
    CHECK(r["metadata"]["sequence"] == 7);
    CHECK(r["status_code"] == "sender_not_trusted");
    CHECK(r["unmapped"]["agentgate"]["reasons"] == json::array({"sender_not_trusted"}));
    CHECK(r["unmapped"]["agentgate"]["event_hash"] == ecs["event"]["hash"]);
    CHECK_FALSE(r.contains("actor"));  // no SMTP login
  }
  SUBCASE("monitor mode let through what enforce mode would quarantine: Detected, Allowed") {
    auto r = convert(written_event(policy::Action::accept, policy::Action::quarantine,
                                   policy::Mode::monitor, f));
    CHECK(r["disposition_id"] == 15);
    CHECK(r["action_id"] == 1);
    CHECK(r["status_id"] == 1);
    CHECK(r["unmapped"]["agentgate"]["would_action"] == "quarantine");
  }
}

TEST_CASE("ecs_to_ocsf: direction_id follows email.direction") {
  struct Row {
    const char* direction;
    int id;
    const char* caption;
  };
  const Row rows[] = {{"inbound", 1, "Inbound"},
                      {"outbound", 2, "Outbound"},
                      {"internal", 3, "Internal"},
                      {"unknown", 0, "Unknown"},
                      {"sideways", 99, "sideways"}};
  for (const auto& row : rows) {
    SUBCASE(row.direction) {
      auto ecs = sample_event();
      ecs["email"]["direction"] = row.direction;
      auto r = convert(ecs);
      CHECK(r["direction_id"] == row.id);
      CHECK(r["direction"] == row.caption);
    }
  }
}

TEST_CASE("ecs_to_ocsf: the attributes OCSF requires are present with their types") {
  auto r = convert(sample_event());
  struct Row {
    const char* pointer;
    json expected;  // null: only the type is checked
    json::value_t type;
  };
  const Row rows[] = {
      {"/class_uid", 4009, json::value_t::number_integer},
      {"/class_name", "Email Activity", json::value_t::string},
      {"/category_uid", 4, json::value_t::number_integer},
      {"/category_name", "Network Activity", json::value_t::string},
      {"/activity_id", 1, json::value_t::number_integer},
      {"/type_uid", 400901, json::value_t::number_integer},
      {"/time", 1796119200123, json::value_t::number_integer},
      {"/severity_id", nullptr, json::value_t::number_integer},
      {"/status_id", 2, json::value_t::number_integer},
      {"/direction_id", 2, json::value_t::number_integer},
      {"/disposition_id", 2, json::value_t::number_integer},
      {"/disposition", "Blocked", json::value_t::string},
      {"/action_id", 2, json::value_t::number_integer},
      {"/action", "Denied", json::value_t::string},
      {"/status_code", "principal_mismatch", json::value_t::string},
      {"/status_detail", nullptr, json::value_t::string},
      {"/email/from", "sales@agents.example.com", json::value_t::string},
      {"/email/to", json::array({"alice@customer.example", "dave@customer.example"}),
       json::value_t::array},
      {"/email/smtp_from", "sales@agents.example.com", json::value_t::string},
      {"/email/smtp_to", nullptr, json::value_t::array},
      {"/email/message_uid", "<m1@agents.example.com>", json::value_t::string},
      {"/email/uid", "4Qx1ZK3Lz", json::value_t::string},
      {"/email/subject", "Your quote", json::value_t::string},
      {"/src_endpoint/ip", "192.0.2.10", json::value_t::string},
      {"/actor/user/name", "intruder", json::value_t::string},
      {"/device/hostname", "mx1.example.com", json::value_t::string},
      {"/device/type_id", 1, json::value_t::number_integer},
      {"/metadata/version", "1.1.0", json::value_t::string},
      {"/metadata/product/name", "agentgate", json::value_t::string},
      {"/metadata/product/vendor_name", "agentgate", json::value_t::string},
      {"/metadata/product/version", "0.1.0", json::value_t::string},
      {"/metadata/uid", "0190f1e2a3b4c5d6e7f8", json::value_t::string},
      {"/metadata/sequence", 42, json::value_t::number_integer},
      {"/metadata/log_name", "events.jsonl", json::value_t::string},
      {"/metadata/original_time", "2026-12-01T10:00:00.123Z", json::value_t::string},
      {"/metadata/profiles", json::array({"security_control", "host"}), json::value_t::array},
  };
  for (const auto& row : rows) {
    SUBCASE(row.pointer) {
      json::json_pointer p(row.pointer);
      REQUIRE(r.contains(p));
      auto type = r.at(p).type();
      if (type == json::value_t::number_unsigned) type = json::value_t::number_integer;
      CHECK(type == row.type);
      if (!row.expected.is_null()) CHECK(r.at(p) == row.expected);
    }
  }
}

TEST_CASE("ecs_to_ocsf: only OCSF 1.1 Email Activity attribute names at the top level") {
  // base_event, email_activity and the host and security_control profiles, OCSF 1.1.0.
  const std::set<std::string> allowed = {
      "activity_id", "activity_name", "category_uid", "category_name", "class_uid",
      "class_name",  "type_uid",      "type_name",    "time",          "severity_id",
      "severity",    "status_id",     "status",       "status_code",   "status_detail",
      "message",     "metadata",      "unmapped",     "direction_id",  "direction",
      "email",       "src_endpoint",  "dst_endpoint", "smtp_hello",    "disposition_id",
      "disposition", "action_id",     "action",       "actor",         "device"};
  auto r = convert(sample_event());
  for (const auto& item : r.items()) {
    const std::string key = item.key();
    CAPTURE(key);
    CHECK(allowed.count(key) == 1);
  }
  const std::set<std::string> email_allowed = {"cc",
                                               "delivered_to",
                                               "from",
                                               "message_uid",
                                               "raw_header",
                                               "reply_to",
                                               "size",
                                               "smtp_from",
                                               "smtp_to",
                                               "subject",
                                               "to",
                                               "uid",
                                               "x_originating_ip"};
  for (const auto& item : r["email"].items()) {
    const std::string key = item.key();
    CAPTURE(key);
    CHECK(email_allowed.count(key) == 1);
  }
}

TEST_CASE("ecs_to_ocsf: the unmapped block carries what OCSF has no attribute for") {
  auto r = convert(sample_event());
  REQUIRE(r.contains("unmapped"));
  const auto& a = r["unmapped"]["agentgate"];
  struct Row {
    const char* key;
    json expected;
  };
  const Row rows[] = {
      {"reasons", json::array({"principal_mismatch", "proof_missing"})},
      {"grant", "g-1"},
      {"task", "quote-42"},
      {"mode", "enforce"},
      {"would_action", "reject"},
      {"identity", "sales-bot"},
      {"rule", "principal_mismatch"},
      {"event_hash", "ab12"},
      {"prev_hash", "cd34"},
      {"stage", "eom"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.key) {
      REQUIRE(a.contains(row.key));
      CHECK(a[row.key] == row.expected);
    }
  }
  SUBCASE("an event without reason codes still has an empty reasons array") {
    auto ecs = sample_event();
    ecs.erase("agentgate");
    CHECK(convert(ecs)["unmapped"]["agentgate"]["reasons"] == json::array());
  }
}

TEST_CASE("ecs_to_ocsf: time keeps the event's milliseconds (iso8601_to_epoch_ms)") {
  struct Row {
    const char* text;
    std::int64_t ms;
  };
  const Row rows[] = {
      {"2026-12-01T10:00:00.123Z", 1796119200123},
      {"2026-12-01T10:00:00Z", 1796119200000},
      {"2026-12-01T12:00:00.5+02:00", 1796119200500},
      {"2020-01-02T03:04:05.678901Z", 1577934245678},
  };
  for (const auto& row : rows) {
    SUBCASE(row.text) {
      auto ms = iso8601_to_epoch_ms(row.text);
      REQUIRE(ms);
      CHECK(*ms == row.ms);
    }
  }
  SUBCASE("not a time") {
    CHECK_FALSE(iso8601_to_epoch_ms("yesterday"));
  }
}

TEST_CASE("ecs_to_ocsf: what is not an event is refused; odd fields are left out") {
  struct Row {
    const char* name;
    json input;
    const char* problem;
  };
  auto no_time = sample_event();
  no_time.erase("@timestamp");
  auto bad_time = sample_event();
  bad_time["@timestamp"] = "last tuesday";
  auto no_action = sample_event();
  no_action["event"].erase("action");
  auto number_action = sample_event();
  number_action["event"]["action"] = 7;
  const Row rows[] = {
      {"an array", json::array({1, 2}), "not a JSON object"},
      {"a string", "accept", "not a JSON object"},
      {"no @timestamp", no_time, "@timestamp"},
      {"@timestamp not ISO 8601", bad_time, "@timestamp"},
      {"no event.action", no_action, "event.action"},
      {"event.action not a string", number_action, "event.action"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto r = ecs_to_ocsf(row.input, options());
      REQUIRE_FALSE(r.ok());
      CHECK(r.refusal().rule == "not_an_event");
      CHECK(r.refusal().message.find(row.problem) != std::string::npos);
    }
  }
  SUBCASE("fields of unexpected types or missing are left out, the required ones stay") {
    auto ecs = sample_event();
    ecs["source"]["ip"] = 42;
    ecs["email"]["to"]["address"] = "one@example.com";
    ecs["email"].erase("from");
    ecs["user"] = "not an object";
    ecs["event"]["sequence"] = "7";
    auto r = convert(ecs);
    CHECK_FALSE(r.contains("src_endpoint"));
    CHECK_FALSE(r.contains("actor"));
    CHECK_FALSE(r["metadata"].contains("sequence"));
    CHECK(r["email"]["from"] == "");
    CHECK(r["email"]["to"] == json::array({"one@example.com"}));
  }
}

}  // namespace
}  // namespace agentgate::cli
