// `agentgatectl identity ...`: the governance lifecycle of SPEC section 3 from the command line.
// Parsing and printing only; every rule lives in policy/governance.cpp.
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "common/timefmt.hpp"
#include "registry/identity_json.hpp"

namespace agentgate::cli {
namespace {

using policy::Identity;

policy::Time parse_expiry(const std::string& text) {
  auto t = common::parse_when(text, common::now_seconds(), false);
  if (!t)
    throw UsageError(
        fmt::format("--expires '{}' must be a duration (30d) or an ISO 8601 date", text));
  return *t;
}

// What the identity waits for, in words, after a write.
std::string next_steps(const Identity& i, policy::Time now) {
  auto has = [&](policy::ApprovalRole r) {
    for (const auto& a : i.approvals)
      if (a.role == r) return true;
    return false;
  };
  bool pending = i.status == policy::Status::requested ||
                 i.status == policy::Status::owner_approved || policy::renewal_pending(i);
  std::string status(policy::to_string(policy::effective_status(i, now)));
  if (policy::renewal_pending(i)) status += " (renewal pending)";
  if (!pending) return status;
  std::vector<std::string> waits;
  if (!has(policy::ApprovalRole::owner)) waits.push_back("owner approval by " + i.business_owner);
  if (!has(policy::ApprovalRole::ig)) waits.push_back("IG approval");
  if (i.actions.privileged() && !has(policy::ApprovalRole::system))
    waits.push_back("system approval by " + i.system_owner);
  std::string joined;
  for (const auto& w : waits) joined += (joined.empty() ? "" : ", ") + w;
  return fmt::format("{}; awaiting {}", status, joined);
}

void report_write(Context& ctx, const Identity& i) {
  auto now = common::now_seconds();
  if (ctx.json)
    ctx.print_json(registry::identity_to_json(i, now));
  else
    fmt::print("identity {}: {}\n", i.id, next_steps(i, now));
}

void print_identity(const Identity& i, policy::Time now) {
  auto line = [](std::string_view k, std::string_view v) { fmt::print("{:<20}{}\n", k, v); };
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("-") : s;
  };
  line("id", i.id);
  line("inbox", i.inbox);
  line("status", next_steps(i, now));
  if (!i.status_reason.empty()) line("status reason", i.status_reason);
  line("purpose", i.purpose);
  line("business owner", i.business_owner);
  line("system owner", i.system_owner);
  line("requester", i.requester);
  line("IG reviewer", i.ig_reviewer.empty() ? "-" : i.ig_reviewer);
  line("actions", i.actions.to_string() + (i.actions.privileged() ? " (privileged)" : ""));
  line("principals", join(i.principals));
  for (const auto& [cap, patterns] : i.targets)
    line(fmt::format("targets[{}]", policy::to_string(cap)), join(patterns));
  line("accept from", join(i.accept_from));
  line("grant issuers", join(i.grant_issuers));
  line("expires at", common::format_iso8601(i.expires_at));
  if (i.renewal_expires_at) line("renewal to", common::format_iso8601(*i.renewal_expires_at));
  line("revocation trigger", i.revocation_trigger);
  line("credential type", i.credential_type);
  line("round", std::to_string(i.round));
  for (const auto& a : i.approvals)
    line(fmt::format("approval[{}]", policy::to_string(a.role)),
         fmt::format("{} at {}{}", a.actor, common::format_iso8601(a.at),
                     a.comment.empty() ? "" : " — " + a.comment));
  line("created", common::format_iso8601(i.created_at));
  line("updated", common::format_iso8601(i.updated_at));
}

struct RequestArgs {
  std::string id, inbox, purpose, business_owner, system_owner, expires, trigger, credential_type,
      actor;
  std::vector<std::string> actions, principals, targets, accept_from, grant_issuers;
};

void add_request(CLI::App& identity, Context& ctx) {
  auto a = std::make_shared<RequestArgs>();
  auto* c = identity.add_subcommand("request", "Request a new agent identity (needs approvals)");
  c->add_option("ID", a->id, "Identity id (naming rule: governance.id_pattern)")->required();
  c->add_option("--inbox", a->inbox, "The agent's mailbox address")->required();
  c->add_option("--purpose", a->purpose, "Why the agent needs an inbox")->required();
  c->add_option("--business-owner", a->business_owner, "Workflow owner (gives the owner approval)")
      ->required();
  c->add_option("--system-owner", a->system_owner, "System owner (approves privileged actions)")
      ->required();
  c->add_option("--actions", a->actions, "receive,reply,send,escalate,invoke")
      ->required()
      ->delimiter(',');
  c->add_option("--principal", a->principals, "Workload binding: sasl:LOGIN or cert:SUBJECT")
      ->allow_extra_args(false);
  c->add_option("--target", a->targets, "ACTION=PATTERN recipients an action may reach")
      ->allow_extra_args(false);
  c->add_option("--accept-from", a->accept_from, "Sender pattern trusted to mail the inbox")
      ->allow_extra_args(false);
  c->add_option("--grant-issuer", a->grant_issuers, "Principal allowed to issue grants")
      ->allow_extra_args(false);
  c->add_option("--expires", a->expires, "Duration (30d) or ISO 8601 date")->required();
  c->add_option("--revocation-trigger", a->trigger, "When this identity must be revoked")
      ->required();
  c->add_option("--credential-type", a->credential_type, "e.g. smtp-auth (default), x509");
  c->add_option("--actor", a->actor, "Who is requesting")->required();
  c->callback([&ctx, a] {
    ctx.run = [&ctx, a] {
      Identity d;
      d.id = a->id;
      d.inbox = a->inbox;
      d.purpose = a->purpose;
      d.business_owner = a->business_owner;
      d.system_owner = a->system_owner;
      d.actions = parse_actions(a->actions);
      d.principals = a->principals;
      d.targets = parse_targets(a->targets);
      d.accept_from = a->accept_from;
      d.grant_issuers = a->grant_issuers;
      d.expires_at = parse_expiry(a->expires);
      d.revocation_trigger = a->trigger;
      d.credential_type = a->credential_type;
      auto actor = ctx.actor(a->actor);
      report_write(ctx, ctx.check(ctx.registry().request(std::move(d), actor)));
      return kOk;
    };
  });
}

struct ChangeArgs {
  std::string id, actor, reason, role, comment, expires;
};

using ChangeFn = std::function<policy::Result<Identity>(registry::Registry&, const ChangeArgs&,
                                                        const registry::Actor&)>;

void add_change(CLI::App& identity, Context& ctx, const std::string& name, const std::string& help,
                const ChangeFn& fn) {
  auto a = std::make_shared<ChangeArgs>();
  auto* c = identity.add_subcommand(name, help);
  c->add_option("ID", a->id, "Identity id")->required();
  c->add_option("--actor", a->actor, "Who acts")->required();
  if (name == "approve") {
    c->add_option("--role", a->role, "owner|ig|system")
        ->required()
        ->check(CLI::IsMember({"owner", "ig", "system"}));
    c->add_option("--comment", a->comment, "Recorded with the approval");
  } else if (name == "renew") {
    c->add_option("--expires", a->expires, "New expiry: duration (30d) or ISO 8601 date")
        ->required();
  } else {
    c->add_option("--reason", a->reason, "Why (recorded in the audit log)")->required();
  }
  c->callback([&ctx, a, fn] {
    ctx.run = [&ctx, a, fn] {
      auto actor = ctx.actor(a->actor);
      auto registry = ctx.registry();
      report_write(ctx, ctx.check(fn(registry, *a, actor)));
      return kOk;
    };
  });
}

void add_show(CLI::App& identity, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto* c = identity.add_subcommand("show", "Show one identity");
  c->add_option("ID", *id, "Identity id")->required();
  c->callback([&ctx, id] {
    ctx.run = [&ctx, id] {
      std::optional<Identity> found;
      ctx.store().read([&](registry::StoreTx& tx) { found = tx.find_identity(*id); });
      if (!found) throw RefusedError("not_found", fmt::format("no identity '{}'", *id));
      auto now = common::now_seconds();
      if (ctx.json)
        ctx.print_json(registry::identity_to_json(*found, now));
      else
        print_identity(*found, now);
      return kOk;
    };
  });
}

void add_list(CLI::App& identity, Context& ctx) {
  struct Args {
    std::string status, within;
  };
  auto a = std::make_shared<Args>();
  auto* c = identity.add_subcommand("list", "List identities");
  c->add_option("--status", a->status, "Only this (effective) status");
  c->add_option("--expiring-within", a->within, "Only live identities expiring within DURATION");
  c->callback([&ctx, a] {
    ctx.run = [&ctx, a] {
      auto now = common::now_seconds();
      std::optional<policy::Status> status;
      if (!a->status.empty() && !(status = policy::parse_status(a->status)))
        throw UsageError(fmt::format("--status '{}' is not a status", a->status));
      registry::IdentityFilter filter;
      std::optional<policy::Time> horizon;
      if (!a->within.empty()) {
        auto d = common::parse_duration(a->within);
        if (!d)
          throw UsageError(fmt::format("--expiring-within '{}' is not a duration", a->within));
        horizon = now + *d;
        filter.expires_before = horizon;
      }
      nlohmann::json out = nlohmann::json::array();
      std::vector<const Identity*> shown;
      auto all = ctx.store().list_identities(filter);
      for (const auto& i : all) {
        auto eff = policy::effective_status(i, now);
        if (status && eff != *status) continue;
        if (horizon && !status && eff != policy::Status::active && eff != policy::Status::suspended)
          continue;
        shown.push_back(&i);
      }
      if (ctx.json) {
        for (const auto* i : shown) out.push_back(registry::identity_to_json(*i, now));
        ctx.print_json(out);
        return kOk;
      }
      fmt::print("{:<24} {:<15} {:<36} {:<21} {}\n", "ID", "STATUS", "INBOX", "EXPIRES", "OWNER");
      for (const auto* i : shown)
        fmt::print("{:<24} {:<15} {:<36} {:<21} {}\n", i->id,
                   policy::to_string(policy::effective_status(*i, now)), i->inbox,
                   common::format_iso8601(i->expires_at), i->business_owner);
      return kOk;
    };
  });
}

}  // namespace

void add_identity_commands(CLI::App& app, Context& ctx) {
  auto* identity = app.add_subcommand("identity", "Agent identities and their approvals");
  identity->require_subcommand(1);
  add_request(*identity, ctx);
  add_change(*identity, ctx, "approve", "Give the owner, IG or system approval",
             [](registry::Registry& r, const ChangeArgs& a, const registry::Actor& actor) {
               return r.approve(a.id, *policy::parse_approval_role(a.role), actor, a.comment);
             });
  add_change(*identity, ctx, "reject", "Reject a pending request or renewal",
             [](registry::Registry& r, const ChangeArgs& a, const registry::Actor& actor) {
               return r.reject(a.id, actor, a.reason);
             });
  add_change(*identity, ctx, "suspend", "Suspend an active identity",
             [](registry::Registry& r, const ChangeArgs& a, const registry::Actor& actor) {
               return r.suspend(a.id, actor, a.reason);
             });
  add_change(*identity, ctx, "resume", "Lift a suspension",
             [](registry::Registry& r, const ChangeArgs& a, const registry::Actor& actor) {
               return r.resume(a.id, actor, a.reason);
             });
  add_change(*identity, ctx, "revoke", "Revoke an identity for good",
             [](registry::Registry& r, const ChangeArgs& a, const registry::Actor& actor) {
               return r.revoke(a.id, actor, a.reason);
             });
  add_change(*identity, ctx, "renew", "Start a renewal round with a new expiry",
             [](registry::Registry& r, const ChangeArgs& a, const registry::Actor& actor) {
               return r.renew(a.id, parse_expiry(a.expires), actor);
             });
  add_show(*identity, ctx);
  add_list(*identity, ctx);
}

}  // namespace agentgate::cli
