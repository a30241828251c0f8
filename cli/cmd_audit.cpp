// `agentgatectl audit verify|log`: reading and checking the governance audit chain.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "common/timefmt.hpp"
#include "registry/audit.hpp"

namespace agentgate::cli {
namespace {

nlohmann::json record_json(const registry::AuditRecord& r) {
  nlohmann::json details;
  try {
    details = nlohmann::json::parse(r.details);
  } catch (const nlohmann::json::exception&) {
    details = r.details;
  }
  return {{"seq", r.seq},       {"at", r.at},
          {"actor", r.actor},   {"os_user", r.os_user},
          {"action", r.action}, {"subject", r.subject},
          {"details", details}, {"prev_hash", r.prev_hash},
          {"hash", r.hash}};
}

}  // namespace

void add_audit_commands(CLI::App& app, Context& ctx) {
  auto* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);

  auto* verify = audit->add_subcommand("verify", "Check the whole hash chain");
  verify->callback([&ctx] {
    ctx.run = [&ctx] {
      auto records = ctx.store().audit_records(1);
      auto check = registry::verify_audit_chain(records);
      std::string head = records.empty() ? registry::kGenesisHash : records.back().hash;
      if (ctx.json) {
        nlohmann::json j = {{"ok", check.ok}, {"records", records.size()}};
        if (check.ok)
          j["head"] = head;
        else
          j["first_bad_seq"] = check.first_bad_seq, j["problem"] = check.problem;
        ctx.print_json(j);
      } else if (check.ok) {
        fmt::print("audit chain OK: {} records, head {}\n", records.size(), head);
      } else {
        fmt::print("audit chain BROKEN at record {}: {} ({} records before it verified)\n",
                   check.first_bad_seq, check.problem, check.records);
      }
      return check.ok ? kOk : kRefused;
    };
  });

  auto since = std::make_shared<std::string>();
  auto* log = audit->add_subcommand("log", "Print audit records");
  log->add_option("--since", *since, "Duration back from now (7d) or ISO 8601 date");
  log->callback([&ctx, since] {
    ctx.run = [&ctx, since] {
      std::string from;
      if (!since->empty()) {
        auto t = common::parse_when(*since, common::now_seconds(), true);
        if (!t) throw UsageError(fmt::format("--since '{}' is not a duration or date", *since));
        from = common::format_iso8601(*t);
        from.insert(from.size() - 1, ".000");  // r.at has milliseconds: compare like with like
      }
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : ctx.store().audit_records(1)) {
        if (!from.empty() && r.at < from) continue;  // ISO 8601 UTC strings sort as times
        if (ctx.json)
          out.push_back(record_json(r));
        else
          fmt::print("{:>6} {} {:<12} {:<20} {:<24} {}\n", r.seq, r.at,
                     r.actor == r.os_user ? r.actor : r.actor + "(" + r.os_user + ")", r.action,
                     r.subject, r.details);
      }
      if (ctx.json) ctx.print_json(out);
      return kOk;
    };
  });
}

}  // namespace agentgate::cli
