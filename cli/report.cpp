// The SOC report's aggregation (events, identities, quarantine rows -> ReportData) and its JSON
// form; the HTML page is rendered in report_html.cpp. No I/O, no clock reads.
#include "cli/report.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/timefmt.hpp"

namespace agentgate::cli::report {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

std::vector<std::string> strings_at(const nlohmann::json& j, const char* a, const char* b) {
  std::vector<std::string> out;
  auto pa = j.find(a);
  if (pa == j.end() || !pa->is_object()) return out;
  auto pb = pa->find(b);
  if (pb == pa->end() || !pb->is_array()) return out;
  for (const auto& v : *pb)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string string_at(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* p = &j;
  for (const char* k : path) {
    if (!p->is_object()) return "";
    auto it = p->find(k);
    if (it == p->end()) return "";
    p = &*it;
  }
  return p->is_string() ? p->get<std::string>() : "";
}

Time slot_start(Time t, Bucket b) {
  auto step = b == Bucket::hour ? seconds(hours(1)) : seconds(hours(24));
  auto s = t.time_since_epoch().count();
  auto w = step.count();
  return Time(seconds(s - ((s % w) + w) % w));
}

std::vector<Count> top_counts(const std::map<std::string, std::int64_t>& m, std::size_t n) {
  std::vector<Count> v;
  for (const auto& [k, c] : m) v.push_back({k, c});
  std::stable_sort(v.begin(), v.end(), [](const Count& a, const Count& b) { return a.n > b.n; });
  if (v.size() > n) v.resize(n);
  return v;
}

IdentityRow identity_row(const policy::Identity& i, Time now,
                         const std::map<std::string, Time>& last_seen) {
  IdentityRow r{i.id,
                i.inbox,
                std::string(policy::to_string(policy::effective_status(i, now))),
                i.business_owner,
                i.expires_at,
                i.created_at,
                std::nullopt};
  if (auto it = last_seen.find(i.id); it != last_seen.end()) r.last_seen = it->second;
  return r;
}

}  // namespace

const char* to_string(Action a) {
  switch (a) {
    case Action::accept:
      return "accept";
    case Action::quarantine:
      return "quarantine";
    case Action::tempfail:
      return "tempfail";
    case Action::reject:
      return "reject";
  }
  return "accept";
}

std::optional<Action> parse_action(std::string_view s) {
  for (auto a : kActions)
    if (s == to_string(a)) return a;
  return std::nullopt;
}

ParsedEvent parse_event(const nlohmann::json& ecs) {
  ParsedEvent p;
  if (!ecs.is_object()) return p.problem = "not a JSON object", p;
  auto t = common::parse_iso8601(string_at(ecs, {"@timestamp"}));
  if (!t) return p.problem = "@timestamp is missing or not ISO 8601", p;
  auto action_text = string_at(ecs, {"event", "action"});
  if (action_text.empty()) return p.problem = "event.action is missing", p;
  auto action = parse_action(action_text);
  if (!action) return p.kind = EventKind::other, p;
  p.kind = EventKind::decision;
  p.decision = {*t, *action, strings_at(ecs, "agentgate", "reasons"),
                string_at(ecs, {"gen_ai", "agent", "id"}),
                strings_at(ecs, "agentgate", "recipient_identities")};
  return p;
}

Bucket bucket_for(Time since, Time now) {
  return now - since <= hours(48) ? Bucket::hour : Bucket::day;
}

ReportData aggregate(const std::vector<Decision>& decisions,
                     const std::vector<policy::Identity>& identities,
                     const std::vector<registry::QuarantineRecord>& held, const Options& o) {
  ReportData d;
  d.generated = o.now;
  d.since = o.since;
  d.bucket = bucket_for(o.since, o.now);
  d.dormant = o.dormant;
  d.expiring = o.expiring;
  auto step = d.bucket == Bucket::hour ? seconds(hours(1)) : seconds(hours(24));
  auto first = slot_start(o.since, d.bucket);
  for (auto s = first; s <= o.now; s += step) d.slots.push_back({s, {}});

  std::map<std::string, std::int64_t> reasons;
  std::map<std::string, IdentityCount> by_identity;
  std::map<std::string, Time> last_seen;
  for (const auto& e : decisions) {
    auto seen = [&](const std::string& id) {
      if (id.empty()) return;
      auto& t = last_seen[id];
      t = std::max(t, e.at);
    };
    seen(e.agent_id);
    for (const auto& r : e.recipient_identities) seen(r);
    if (e.at < o.since || e.at > o.now || d.slots.empty()) continue;
    auto i = index_of(e.action);
    ++d.totals[i];
    ++d.total;
    auto slot = static_cast<std::size_t>((slot_start(e.at, d.bucket) - first) / step);
    ++d.slots[std::min(slot, d.slots.size() - 1)].counts[i];
    if (e.action == Action::accept) continue;
    for (const auto& r : e.reasons) ++reasons[r];
    if (e.action != Action::reject && e.action != Action::quarantine) continue;
    auto count = [&](const std::string& id) {
      auto& c = by_identity[id];
      c.id = id;
      ++(e.action == Action::reject ? c.rejected : c.quarantined);
    };
    if (!e.agent_id.empty()) {
      count(e.agent_id);
    } else {
      std::set<std::string> once(e.recipient_identities.begin(), e.recipient_identities.end());
      for (const auto& r : once) count(r);
    }
  }
  d.top_reasons = top_counts(reasons, o.top);
  for (const auto& [id, c] : by_identity) d.top_identities.push_back(c);
  std::stable_sort(d.top_identities.begin(), d.top_identities.end(), [](auto& a, auto& b) {
    return a.rejected + a.quarantined > b.rejected + b.quarantined;
  });
  if (d.top_identities.size() > o.top) d.top_identities.resize(o.top);

  for (const auto& i : identities) {
    auto status = policy::effective_status(i, o.now);
    bool live = status == policy::Status::active || status == policy::Status::suspended;
    if (live && i.expires_at <= o.now + o.expiring)
      d.expiring_identities.push_back(identity_row(i, o.now, last_seen));
    auto it = last_seen.find(i.id);
    if (status == policy::Status::active &&
        (it == last_seen.end() || it->second < o.now - o.dormant))
      d.dormant_identities.push_back(identity_row(i, o.now, last_seen));
  }
  std::stable_sort(d.expiring_identities.begin(), d.expiring_identities.end(),
                   [](auto& a, auto& b) { return a.expires_at < b.expires_at; });
  std::stable_sort(d.dormant_identities.begin(), d.dormant_identities.end(), [](auto& a, auto& b) {
    return a.last_seen.value_or(Time{}) < b.last_seen.value_or(Time{});
  });

  for (const auto& q : held) {
    if (q.status != "held") continue;
    ++d.held;
    d.oldest_held.push_back(
        {q.queue_id, q.mta_host, q.identity, q.subject, q.mail_from, q.at, q.reasons});
  }
  std::stable_sort(d.oldest_held.begin(), d.oldest_held.end(),
                   [](auto& a, auto& b) { return a.at < b.at; });
  if (d.oldest_held.size() > o.held_rows) d.oldest_held.resize(o.held_rows);
  return d;
}

nlohmann::json to_json(const ReportData& d) {
  using nlohmann::json;
  auto iso = [](Time t) { return common::format_iso8601(t); };
  auto opt_iso = [&](const std::optional<Time>& t) { return t ? json(iso(*t)) : json(); };
  json totals = json::object();
  for (auto a : kActions) totals[to_string(a)] = d.totals[index_of(a)];
  json slots = json::array();
  for (const auto& s : d.slots) {
    json c = {{"start", iso(s.start)}};
    for (auto a : kActions) c[to_string(a)] = s.counts[index_of(a)];
    slots.push_back(c);
  }
  json reasons = json::array();
  for (const auto& r : d.top_reasons) reasons.push_back({{"reason", r.key}, {"count", r.n}});
  json ids = json::array();
  for (const auto& i : d.top_identities)
    ids.push_back({{"identity", i.id}, {"reject", i.rejected}, {"quarantine", i.quarantined}});
  auto rows = [&](const std::vector<IdentityRow>& v) {
    json out = json::array();
    for (const auto& r : v)
      out.push_back({{"id", r.id},
                     {"inbox", r.inbox},
                     {"status", r.status},
                     {"business_owner", r.owner},
                     {"expires_at", iso(r.expires_at)},
                     {"created_at", iso(r.created_at)},
                     {"last_seen", opt_iso(r.last_seen)}});
    return out;
  };
  json held = json::array();
  for (const auto& h : d.oldest_held)
    held.push_back({{"queue_id", h.queue_id},
                    {"host", h.host},
                    {"at", iso(h.at)},
                    {"age_seconds", (d.generated - h.at).count()},
                    {"identity", h.identity},
                    {"mail_from", h.mail_from},
                    {"subject", h.subject},
                    {"reasons", h.reasons}});
  return {{"generated", iso(d.generated)},
          {"since", iso(d.since)},
          {"bucket", d.bucket == Bucket::hour ? "hour" : "day"},
          {"dormant_days", d.dormant.count() / 86400},
          {"expiring_within", common::format_duration(d.expiring)},
          {"total", d.total},
          {"totals", totals},
          {"slots", slots},
          {"top_reasons", reasons},
          {"top_identities", ids},
          {"expiring_identities", rows(d.expiring_identities)},
          {"dormant_identities", rows(d.dormant_identities)},
          {"quarantine", {{"held", d.held}, {"oldest", held}}}};
}

}  // namespace agentgate::cli::report
