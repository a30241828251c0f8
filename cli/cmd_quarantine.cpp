// `agentgatectl quarantine list|show|release|delete|stats`: the SOC's view of held mail. The
// store's quarantine index says why each message is held; the MTA's queue holds the message.
// Release and delete are audited before they act, act on the MTA, and become events (written
// by the daemon, the event log's only writer). Bulk release/delete select by filter and have a
// dry run.
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/control_client.hpp"
#include "cli/mta.hpp"
#include "common/config.hpp"
#include "common/timefmt.hpp"
#include "registry/audit.hpp"

namespace agentgate::cli {
namespace {

struct Filters {
  std::string since, until, identity, reason, recipient, status, host;
};

void add_filters(CLI::App* c, Filters& f) {
  c->add_option("--since", f.since, "Decided at or after: duration (7d) or ISO 8601 date");
  c->add_option("--until", f.until, "Decided at or before: duration or ISO 8601 date");
  c->add_option("--identity", f.identity, "Agent identity involved");
  c->add_option("--reason", f.reason, "Reason code");
  c->add_option("--recipient", f.recipient, "Envelope recipient");
  c->add_option("--host", f.host, "Gateway (MTA host) that decided");
}

registry::QuarantineFilter to_filter(const Filters& f) {
  registry::QuarantineFilter q;
  auto when = [](const std::string& text, const char* flag) -> std::optional<policy::Time> {
    if (text.empty()) return std::nullopt;
    auto t = common::parse_when(text, common::now_seconds(), true);
    if (!t) throw UsageError(fmt::format("{} '{}' is not a duration or ISO 8601 date", flag, text));
    return t;
  };
  q.since = when(f.since, "--since");
  q.until = when(f.until, "--until");
  if (!f.reason.empty() && !policy::parse_reason(f.reason))
    throw UsageError(fmt::format("--reason '{}' is not a reason code", f.reason));
  if (!f.status.empty() && f.status != "held" && f.status != "released" && f.status != "deleted")
    throw UsageError(fmt::format("--status '{}': expected held, released or deleted", f.status));
  q.identity = f.identity;
  q.reason = f.reason;
  q.recipient = f.recipient;
  q.status = f.status;
  q.host = f.host;
  return q;
}

nlohmann::json to_json(const registry::QuarantineRecord& r) {
  auto context = nlohmann::json::parse(r.context, nullptr, false);
  nlohmann::json j = {{"queue_id", r.queue_id},
                      {"host", r.mta_host},
                      {"at", common::format_iso8601(r.at)},
                      {"status", r.status},
                      {"identity", r.identity},
                      {"grant", r.grant},
                      {"task", r.task},
                      {"mail_from", r.mail_from},
                      {"recipients", r.recipients},
                      {"from", r.header_from},
                      {"subject", r.subject},
                      {"message_id", r.message_id},
                      {"reasons", r.reasons},
                      {"event_id", r.event_id},
                      {"context", context.is_discarded() ? nlohmann::json() : context}};
  if (r.status != "held")
    j["action"] = {{"by", r.acted_by},
                   {"at", common::format_iso8601(r.acted_at)},
                   {"justification", r.justification}};
  return j;
}

void print_row(const registry::QuarantineRecord& r) {
  std::cout << fmt::format("{:<14} {:<20} {:<8} {:<16} {:<32} {}\n", r.queue_id,
                           common::format_iso8601(r.at), r.status, r.identity,
                           fmt::join(r.reasons, ","), r.subject.substr(0, 60));
}

// Control characters other than tab and line breaks are shown as '?': the body is untrusted
// input that must not drive the analyst's terminal.
std::string safe_text(const std::string& raw, std::size_t limit) {
  std::string out;
  for (char c : raw.substr(0, limit)) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 && c != '\n' && c != '\t') || u == 0x7f ? (c == '\r' ? '\0' : '?') : c;
  }
  std::erase(out, '\0');
  if (raw.size() > limit)
    out += fmt::format("\n[... {} more bytes not shown]\n", raw.size() - limit);
  return out;
}

// The one quarantine record a QID names: on --host; else the only host holding that id, or this
// host when several do.
registry::QuarantineRecord find_one(Context& ctx, const std::string& qid, const std::string& host) {
  registry::QuarantineFilter f;
  f.queue_id = qid;
  f.host = host;
  auto rows = ctx.store().list_quarantine(f);
  if (rows.empty()) throw RefusedError("not_found", fmt::format("no quarantined message {}", qid));
  if (rows.size() > 1 && host.empty()) {  // queue ids are per MTA: this host's, if it has one
    auto here = common::mta_host(ctx.config().mta);
    for (const auto& r : rows)
      if (r.mta_host == here) return r;
  }
  if (rows.size() > 1)
    throw UsageError(
        fmt::format("{} was quarantined on {} hosts; name one with --host", qid, rows.size()));
  return rows.front();
}

enum class Act { release, remove };

// Audit, act, record: one message. Returns the exit status for it.
int act_on(Context& ctx, const registry::QuarantineRecord& r, Act act, const registry::Actor& actor,
           const std::string& justification) {
  const char* verb = act == Act::release ? "release" : "delete";
  const char* done = act == Act::release ? "released" : "deleted";
  if (r.status != "held")
    throw RefusedError(
        "not_held", fmt::format("{} is already {} (by {} at {})", r.queue_id, r.status, r.acted_by,
                                common::format_iso8601(r.acted_at)));
  // The queue files are on the MTA that held the message: only that host can act on them.
  if (auto here = common::mta_host(ctx.config().mta); r.mta_host != here)
    throw RefusedError("other_host",
                       fmt::format("{} is held on {}, not on this host ({}): run the command "
                                   "there (see [mta] host)",
                                   r.queue_id, r.mta_host, here));
  Mta mta(ctx.config().mta);
  if (!mta.held(r.queue_id))
    throw RefusedError("not_in_queue",
                       fmt::format("{} is no longer in the {} hold queue; nothing changed",
                                   r.queue_id, ctx.config().mta.kind));
  auto now = common::now_seconds();
  nlohmann::json details = {{"queue_id", r.queue_id},         {"host", r.mta_host},
                            {"justification", justification}, {"reasons", r.reasons},
                            {"identity", r.identity},         {"event_id", r.event_id}};
  auto audit = [&](const std::string& action, const std::string& status) {
    ctx.store().write([&](registry::StoreTx& tx) {
      registry::append_audit(tx, {actor.name, actor.os_user, action, r.queue_id, details});
      tx.set_quarantine_status(r.mta_host, r.queue_id, status, actor.name, justification, now);
    });
  };
  audit(fmt::format("quarantine.{}", verb), done);  // audited before it acts
  try {
    act == Act::release ? mta.release(r.queue_id) : mta.remove(r.queue_id);
  } catch (const std::exception& e) {
    details["error"] = e.what();
    audit(fmt::format("quarantine.{}.failed", verb), "held");
    throw EnvironmentError(fmt::format("{} {}: {}", verb, r.queue_id, e.what()));
  }
  nlohmann::json event = {
      {"@timestamp", common::format_iso8601_ms(std::chrono::system_clock::now())},
      {"event",
       {{"id", r.event_id + "-" + verb},
        {"kind", "event"},
        {"category", {"email"}},
        {"type", {"change"}},
        {"action", verb},
        {"outcome", "success"},
        {"reason", justification}}},
      {"rule", {{"name", r.reasons.empty() ? "" : r.reasons.front()}}},
      {"email",
       {{"local_id", r.queue_id},
        {"from", {{"address", {r.mail_from}}}},
        {"to", {{"address", r.recipients}}},
        {"message_id", r.message_id},
        {"subject", r.subject}}},
      {"user", {{"name", actor.name}}},
      {"gen_ai", {{"agent", {{"id", r.identity}}}}},
      {"agentgate",
       {{"reasons", r.reasons},
        {"grant", r.grant},
        {"task", r.task},
        {"quarantine_event", r.event_id},
        {"quarantine_host", r.mta_host},
        {"os_user", actor.os_user}}}};
  std::string error;
  auto reply = control_request(ctx.config().control.socket, "event " + event.dump(),
                               std::chrono::seconds(5), &error);
  if (!reply || !reply->value("ok", false)) {
    std::cerr << fmt::format(
        "agentgatectl: warning: the {} event was not written to the event log ({}); the audit "
        "log records it\n",
        verb, reply ? reply->value("error", std::string("write failed")) : error);
  }
  if (!ctx.json) std::cout << fmt::format("{} {} ({})\n", r.queue_id, done, r.mta_host);
  return kOk;
}

void add_act(CLI::App* q, Context& ctx, Act act) {
  struct Args {
    std::string qid, actor, justification;
    Filters filters;
    bool dry_run = false;
  };
  auto a = std::make_shared<Args>();
  const char* name = act == Act::release ? "release" : "delete";
  auto* c = q->add_subcommand(name, act == Act::release
                                        ? "Release held mail for delivery (audited)"
                                        : "Delete held mail from the MTA queue (audited)");
  c->add_option("QID", a->qid, "Queue id (or select several with the filters)");
  c->add_option("--actor", a->actor, "Who acts (recorded)")->required();
  c->add_option("--justification", a->justification, "Why (recorded)")->required();
  c->add_flag("--dry-run", a->dry_run, "With filters: list what would be done, do nothing");
  add_filters(c, a->filters);
  c->callback([&ctx, a, act] {
    ctx.run = [&ctx, a, act]() -> int {
      auto actor = ctx.actor(a->actor);
      std::vector<registry::QuarantineRecord> rows;
      if (!a->qid.empty()) {
        rows = {find_one(ctx, a->qid, a->filters.host)};
      } else {
        auto f = to_filter(a->filters);
        if (!f.since && !f.until && f.identity.empty() && f.reason.empty() && f.recipient.empty() &&
            f.host.empty())
          throw UsageError("give a QID or at least one filter (--since, --identity, ...)");
        f.status = "held";
        if (f.host.empty()) f.host = common::mta_host(ctx.config().mta);  // mail held here
        rows = ctx.store().list_quarantine(f);
      }
      if (a->dry_run) {
        for (const auto& r : rows) print_row(r);
        std::cout << fmt::format("dry run: {} message(s) would be {}\n", rows.size(),
                                 act == Act::release ? "released" : "deleted");
        return kOk;
      }
      int rc = kOk;
      for (const auto& r : rows) {
        try {
          act_on(ctx, r, act, actor, a->justification);
        } catch (const RefusedError& e) {
          if (rows.size() == 1) throw;
          std::cerr << "agentgatectl: " << r.queue_id << ": " << e.what() << "\n";
          rc = kRefused;
        }
      }
      return rc;
    };
  });
}

}  // namespace

void add_quarantine_commands(CLI::App& app, Context& ctx) {
  auto* q = app.add_subcommand("quarantine", "Review held mail: list, show, release, delete");
  q->require_subcommand(1);

  auto lf = std::make_shared<Filters>();
  auto* list = q->add_subcommand("list", "Quarantined messages, newest first");
  add_filters(list, *lf);
  list->add_option("--status", lf->status, "held, released or deleted");
  list->callback([&ctx, lf] {
    ctx.run = [&ctx, lf] {
      auto rows = ctx.store().list_quarantine(to_filter(*lf));
      if (ctx.json) {
        auto out = nlohmann::json::array();
        for (const auto& r : rows) out.push_back(to_json(r));
        ctx.print_json(out);
      } else {
        std::cout << fmt::format("{:<14} {:<20} {:<8} {:<16} {:<32} {}\n", "QID", "DECIDED",
                                 "STATUS", "IDENTITY", "REASONS", "SUBJECT");
        for (const auto& r : rows) print_row(r);
      }
      return kOk;
    };
  });

  auto show_args = std::make_shared<std::pair<std::string, std::string>>();
  auto* show = q->add_subcommand("show", "One quarantined message: decision, context, content");
  show->add_option("QID", show_args->first, "Queue id")->required();
  show->add_option("--host", show_args->second, "Gateway that decided (when ids collide)");
  show->callback([&ctx, show_args] {
    ctx.run = [&ctx, show_args] {
      auto r = find_one(ctx, show_args->first, show_args->second);
      auto content = r.status == "held" ? Mta(ctx.config().mta).content(r.queue_id)
                                        : std::optional<std::string>();
      auto j = to_json(r);
      j["content"] = content ? nlohmann::json(safe_text(*content, 64 * 1024)) : nlohmann::json();
      if (ctx.json) {
        ctx.print_json(j);
        return kOk;
      }
      std::cout << fmt::format(
          "queue id   {} on {}\nstatus     {}\ndecided    {} (event {})\nreasons    {}\n"
          "identity   {}\ngrant      {} (task {})\nenvelope   <{}> -> <{}>\nfrom       {}\n"
          "subject    {}\nmessage-id {}\n",
          r.queue_id, r.mta_host, r.status, common::format_iso8601(r.at), r.event_id,
          fmt::join(r.reasons, ", "), r.identity, r.grant.empty() ? "-" : r.grant,
          r.task.empty() ? "-" : r.task, r.mail_from, fmt::join(r.recipients, ">, <"),
          r.header_from, r.subject, r.message_id);
      if (r.status != "held")
        std::cout << fmt::format("{}   by {} at {}: {}\n", r.status, r.acted_by,
                                 common::format_iso8601(r.acted_at), r.justification);
      std::cout << "context at decision time:\n" << j["context"].dump(2) << "\n";
      std::cout << "--- message as held by the MTA (control characters shown as ?) ---\n"
                << (content ? j["content"].get<std::string>() : "(not in the queue)\n");
      return kOk;
    };
  });

  add_act(q, ctx, Act::release);
  add_act(q, ctx, Act::remove);

  auto sf = std::make_shared<Filters>();
  auto* stats = q->add_subcommand("stats", "Counts by reason, identity, status and day");
  add_filters(stats, *sf);
  stats->callback([&ctx, sf] {
    ctx.run = [&ctx, sf] {
      std::map<std::string, std::map<std::string, std::int64_t>> counts;
      auto rows = ctx.store().list_quarantine(to_filter(*sf));
      for (const auto& r : rows) {
        for (const auto& reason : r.reasons) ++counts["by_reason"][reason];
        ++counts["by_identity"][r.identity.empty() ? "-" : r.identity];
        ++counts["by_status"][r.status];
        ++counts["by_day"][common::format_iso8601(r.at).substr(0, 10)];
      }
      nlohmann::json j = {{"total", rows.size()}};
      for (const char* k : {"by_reason", "by_identity", "by_status", "by_day"}) j[k] = counts[k];
      if (ctx.json) {
        ctx.print_json(j);
        return kOk;
      }
      std::cout << fmt::format("total {}\n", rows.size());
      for (const char* k : {"by_reason", "by_identity", "by_status", "by_day"}) {
        std::cout << k << ":\n";
        for (const auto& [key, n] : counts[k]) std::cout << fmt::format("  {:<32} {}\n", key, n);
      }
      return kOk;
    };
  });
}

}  // namespace agentgate::cli
