// The SOC report (`agentgatectl report`): decisions over time, top reasons and identities,
// identities expiring soon or dormant, and the quarantine queue, as one self-contained HTML page
// (inline CSS, charts as inline SVG) or as JSON. Pure: parsed events, identities and quarantine
// rows in, a ReportData out, and ReportData to text. No I/O, no clock: `now` is an input.
// Every string that reaches the page came from mail or the registry and is attacker-controlled:
// the renderer escapes all of it, in text and in attributes alike.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/identity.hpp"
#include "registry/quarantine.hpp"

namespace agentgate::cli::report {

using Time = policy::Time;

// The four decision actions, in the order the charts stack them (bottom to top).
enum class Action { accept, quarantine, tempfail, reject };
inline constexpr std::array<Action, 4> kActions = {Action::accept, Action::quarantine,
                                                   Action::tempfail, Action::reject};
// ReportData's per-action counts are indexed by Action.
inline constexpr std::size_t index_of(Action a) {
  return static_cast<std::size_t>(a);
}
const char* to_string(Action a);
std::optional<Action> parse_action(std::string_view s);

// What the report needs from one ECS decision event (milter/decision_event.cpp).
struct Decision {
  Time at{};
  Action action = Action::accept;
  std::vector<std::string> reasons;               // agentgate.reasons
  std::string agent_id;                           // gen_ai.agent.id ("" for inbound)
  std::vector<std::string> recipient_identities;  // agentgate.recipient_identities
};

enum class EventKind { decision, other, malformed };
struct ParsedEvent {
  EventKind kind = EventKind::malformed;
  Decision decision;    // when kind == decision
  std::string problem;  // when kind == malformed
};
// One event-log record. Records that are not decisions (release, delete) are `other`; an object
// without a parseable @timestamp or event.action is `malformed`.
ParsedEvent parse_event(const nlohmann::json& ecs);

struct Options {
  Time now{};
  Time since{};                    // start of the reporting period
  std::chrono::seconds dormant{};  // no event for this long: dormant
  std::chrono::seconds expiring{};
  std::size_t top = 10;        // rows in the top-N charts
  std::size_t held_rows = 20;  // oldest held items listed
};

enum class Bucket { hour, day };
// Hourly slots when the period is at most two days long, else daily.
Bucket bucket_for(Time since, Time now);

struct Slot {
  Time start{};
  std::array<std::int64_t, 4> counts{};  // indexed by Action
};
struct Count {
  std::string key;
  std::int64_t n = 0;
};
struct IdentityCount {
  std::string id;
  std::int64_t rejected = 0, quarantined = 0;
};
struct IdentityRow {
  std::string id, inbox, status, owner;
  Time expires_at{}, created_at{};
  std::optional<Time> last_seen;  // latest event naming it, within what was read
};
struct HeldRow {
  std::string queue_id, host, identity, subject, mail_from;
  Time at{};
  std::vector<std::string> reasons;
};

struct ReportData {
  Time generated{}, since{};
  Bucket bucket = Bucket::day;
  std::chrono::seconds dormant{}, expiring{};
  std::array<std::int64_t, 4> totals{};  // by Action, over the period
  std::int64_t total = 0;
  std::vector<Slot> slots;  // every slot of the period, empty ones included
  std::vector<Count> top_reasons;
  std::vector<IdentityCount> top_identities;
  std::vector<IdentityRow> expiring_identities, dormant_identities;
  std::int64_t held = 0;
  std::vector<HeldRow> oldest_held;  // oldest first
};

// `decisions` may reach back further than the period (for dormancy); the charts count only
// those in [since, now]. `identities`: every identity (effective status is computed here).
// `held`: the quarantine index rows with status held, in any order.
ReportData aggregate(const std::vector<Decision>& decisions,
                     const std::vector<policy::Identity>& identities,
                     const std::vector<registry::QuarantineRecord>& held, const Options& options);

std::string html_escape(std::string_view text);
std::string render_html(const ReportData& data);
nlohmann::json to_json(const ReportData& data);

}  // namespace agentgate::cli::report
