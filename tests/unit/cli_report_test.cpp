// The SOC report (cli/report.hpp): aggregation counts decisions per action, slot, reason and
// identity from a table of events; the rendered bars carry exactly those counts; attacker-
// controlled text (subjects, identities, reasons) is escaped; an empty period still renders a
// complete page that says so.
#include <regex>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "cli/report.hpp"
#include "common/timefmt.hpp"

namespace agentgate::cli::report {
namespace {

Time at(const char* iso) {
  return *common::parse_iso8601(iso);
}

const Time kNow = at("2026-12-08T12:00:00Z");

Options options() {
  Options o;
  o.now = kNow;
  o.since = at("2026-12-01T12:00:00Z");
  o.dormant = std::chrono::hours(24 * 14);
  o.expiring = std::chrono::hours(24 * 14);
  return o;
}

// Each row says what it contributes.
std::vector<Decision> table() {
  return {
      {at("2026-12-02T09:00:00Z"), Action::accept, {}, "sales-bot", {}},
      {at("2026-12-02T10:00:00Z"), Action::accept, {}, "sales-bot", {}},
      {at("2026-12-02T11:00:00Z"), Action::reject, {"principal_mismatch"}, "sales-bot", {}},
      {at("2026-12-03T09:00:00Z"),
       Action::quarantine,
       {"sender_not_trusted"},
       "",
       {"intake-bot"}},  // inbound: counted for the recipient identity
      {at("2026-12-03T10:00:00Z"), Action::quarantine, {"sender_not_trusted"}, "", {"intake-bot"}},
      {at("2026-12-05T10:00:00Z"), Action::tempfail, {"store_unavailable"}, "sales-bot", {}},
      {at("2026-12-05T11:00:00Z"),
       Action::reject,
       {"proof_missing", "principal_mismatch"},
       "sales-bot",
       {}},
      {at("2026-11-20T10:00:00Z"), Action::reject, {"old"}, "old-bot", {}},  // before the period
  };
}

std::int64_t count_sum(const std::string& html, const std::string& svg_id,
                       const std::string& action) {
  auto start = html.find("<svg id=\"" + svg_id + "\"");
  REQUIRE(start != std::string::npos);
  auto end = html.find("</svg>", start);
  auto svg = html.substr(start, end - start);
  std::regex bar("<rect class=\"bar\" data-action=\"" + action + "\" data-count=\"(\\d+)\"");
  std::int64_t sum = 0;
  for (std::sregex_iterator it(svg.begin(), svg.end(), bar), e; it != e; ++it)
    sum += std::stoll((*it)[1]);
  return sum;
}

TEST_CASE("report: aggregation counts the period's decisions by action, slot, reason, identity") {
  auto d = aggregate(table(), {}, {}, options());
  CHECK(d.bucket == Bucket::day);
  CHECK(d.total == 7);
  CHECK(d.totals[0] == 2);  // accept
  CHECK(d.totals[1] == 2);  // quarantine
  CHECK(d.totals[2] == 1);  // tempfail
  CHECK(d.totals[3] == 2);  // reject
  REQUIRE(d.slots.size() == 8);
  CHECK(common::format_iso8601(d.slots[1].start) == "2026-12-02T00:00:00Z");
  CHECK(d.slots[1].counts[0] == 2);
  CHECK(d.slots[1].counts[3] == 1);
  REQUIRE(d.top_reasons.size() == 4);
  CHECK(d.top_reasons[0].n == 2);  // principal_mismatch and sender_not_trusted tie at 2
  REQUIRE(d.top_identities.size() == 2);
  CHECK(d.top_identities[0].id == "intake-bot");
  CHECK(d.top_identities[0].quarantined == 2);
  CHECK(d.top_identities[1].id == "sales-bot");
  CHECK(d.top_identities[1].rejected == 2);
}

TEST_CASE("report: a period of two days or less is bucketed by hour") {
  auto o = options();
  o.since = kNow - std::chrono::hours(24);
  auto d = aggregate(table(), {}, {}, o);
  CHECK(d.bucket == Bucket::hour);
  CHECK(d.slots.size() == 25);
  CHECK(d.total == 0);
}

TEST_CASE("report: non-decision and malformed records") {
  SUBCASE("a release is not a decision") {
    auto p = parse_event(nlohmann::json::parse(
        R"({"@timestamp":"2026-12-01T10:00:00.123Z","event":{"action":"release"}})"));
    CHECK(p.kind == EventKind::other);
  }
  SUBCASE("a decision keeps its reasons, agent and recipient identities") {
    auto p = parse_event(nlohmann::json::parse(
        R"({"@timestamp":"2026-12-01T10:00:00.123Z","event":{"action":"quarantine"},
            "gen_ai":{"agent":{"id":""}},
            "agentgate":{"reasons":["sender_not_trusted"],"recipient_identities":["a"]}})"));
    REQUIRE(p.kind == EventKind::decision);
    CHECK(p.decision.action == Action::quarantine);
    CHECK(p.decision.reasons == std::vector<std::string>{"sender_not_trusted"});
    CHECK(p.decision.recipient_identities == std::vector<std::string>{"a"});
  }
  SUBCASE("no timestamp is malformed") {
    CHECK(parse_event(nlohmann::json::parse(R"({"event":{"action":"accept"}})")).kind ==
          EventKind::malformed);
  }
}

TEST_CASE("report: the SVG bars carry exactly the aggregated counts") {
  auto d = aggregate(table(), {}, {}, options());
  auto html = render_html(d);
  CHECK(html.find("<svg id=\"chart-decisions\" role=\"img\"") != std::string::npos);
  CHECK(html.find("data-total=\"7\"") != std::string::npos);
  CHECK(count_sum(html, "chart-decisions", "accept") == 2);
  CHECK(count_sum(html, "chart-decisions", "quarantine") == 2);
  CHECK(count_sum(html, "chart-decisions", "tempfail") == 1);
  CHECK(count_sum(html, "chart-decisions", "reject") == 2);
  CHECK(count_sum(html, "chart-identities", "reject") == 2);
  CHECK(count_sum(html, "chart-identities", "quarantine") == 2);
  CHECK(count_sum(html, "chart-reasons", "non-accept") == 6);
}

TEST_CASE("report: attacker-controlled text is escaped everywhere") {
  registry::QuarantineRecord q;
  q.queue_id = "Q1";
  q.at = at("2026-12-07T12:00:00Z");
  q.identity = "intake-bot";
  q.subject = "<script>alert(1)</script>";
  q.mail_from = "\"x\"@evil.test";
  q.reasons = {"sender_not_trusted"};
  auto events = table();
  events.push_back({at("2026-12-06T10:00:00Z"), Action::reject, {"<img src=x>"}, "<b>bot</b>", {}});
  auto d = aggregate(events, {}, {q}, options());
  auto html = render_html(d);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>bot") == std::string::npos);
  CHECK(html.find("&quot;x&quot;@evil.test") != std::string::npos);
  CHECK(html_escape("a&b<c>'\"") == "a&amp;b&lt;c&gt;&#39;&quot;");
  CHECK(d.held == 1);
}

TEST_CASE("report: an empty period renders a complete page that says so") {
  auto d = aggregate({}, {}, {}, options());
  auto html = render_html(d);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("</html>") != std::string::npos);
  CHECK(html.find("No decisions in this period") != std::string::npos);
  CHECK(html.find("data-total=\"0\"") != std::string::npos);
  CHECK(html.find("<rect class=\"bar\"") == std::string::npos);
  CHECK(to_json(d)["total"] == 0);
}

TEST_CASE("report: expiring and dormant identities") {
  policy::Identity soon;
  soon.id = "soon-bot";
  soon.status = policy::Status::active;
  soon.expires_at = kNow + std::chrono::hours(72);
  policy::Identity quiet = soon;
  quiet.id = "quiet-bot";
  quiet.expires_at = kNow + std::chrono::hours(24 * 90);
  policy::Identity busy = quiet;
  busy.id = "sales-bot";
  policy::Identity gone = soon;
  gone.id = "gone-bot";
  gone.status = policy::Status::revoked;
  auto d = aggregate(table(), {soon, quiet, busy, gone}, {}, options());
  REQUIRE(d.expiring_identities.size() == 1);
  CHECK(d.expiring_identities[0].id == "soon-bot");
  REQUIRE(d.dormant_identities.size() == 2);  // soon-bot and quiet-bot; sales-bot has events
  CHECK(d.dormant_identities[0].last_seen == std::nullopt);
}

}  // namespace
}  // namespace agentgate::cli::report
