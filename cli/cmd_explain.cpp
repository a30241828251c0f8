// `agentgatectl explain`: the gateway's whole decision for a message file, offline, with the
// reason trace: every check, passed or failed, with the values it compared. It gathers the
// facts with the milter's own code (policy::add_header), runs the RCPT stage and the end of
// message decision of policy/engine.hpp against the store, and reads (never spends) the
// session state: thread ledger, replay cache and grant quotas.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "common/timefmt.hpp"
#include "policy/canonical.hpp"
#include "policy/engine.hpp"
#include "policy/facts.hpp"
#include "policy/rfc5322.hpp"
#include "registry/store_lookup.hpp"

namespace agentgate::cli {
namespace {

struct ExplainArgs {
  std::string file, mail_from, login, cert_subject, client_addr = "127.0.0.1", at;
  std::vector<std::string> rcpts;
};

struct Refused {
  std::string address;
  policy::Reason reason;
  policy::Action action;
  std::string detail;
};

nlohmann::json refused_json(const std::vector<Refused>& refused) {
  auto out = nlohmann::json::array();
  for (const auto& r : refused)
    out.push_back({{"address", r.address},
                   {"reason", policy::to_string(r.reason)},
                   {"action", policy::to_string(r.action)},
                   {"detail", r.detail}});
  return out;
}

struct Step {
  std::string stage;  // rcpt, eom, session
  policy::TraceStep step;
};

std::string read_input(const std::string& file) {
  std::stringstream ss;
  if (file.empty() || file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw UsageError(fmt::format("cannot read {}", file));
    ss << in.rdbuf();
  }
  return ss.str();
}

void add_reason(policy::Verdict& v, policy::Reason r, std::string detail,
                const policy::PolicySettings& s) {
  v.reasons.insert(v.reasons.begin(), r);
  v.detail = std::move(detail);
  v.would_action = std::max(v.would_action, s.action_for(r));
  v.action = s.mode == policy::Mode::monitor ? policy::Action::accept : v.would_action;
}

// The stateful checks of SPEC section 4, read-only and in the daemon's order: thread ledger,
// replay, quotas. The daemon spends atomically; explain only reports what it would find now.
void session_state(policy::Verdict& v, const policy::MessageFacts& f,
                   const registry::StoreLookup& view, registry::Store& store,
                   const policy::PolicySettings& s, std::vector<Step>& trace) {
  if (v.jti.empty() || v.would_action != policy::Action::accept) return;
  auto note = [&](const char* check, bool ok, std::string compared) {
    trace.push_back({"session", {check, ok, std::move(compared)}});
    return ok;
  };
  if (!v.in_reply_to.empty() || v.proven_action == policy::Capability::reply) {
    auto participants = store.find_received(f.mail_from, v.in_reply_to);
    bool in_thread = participants.has_value();
    for (const auto& r : f.recipients)
      if (in_thread &&
          std::find(participants->begin(), participants->end(), r) == participants->end())
        in_thread = false;
    if (!note("session.thread", in_thread,
              participants ? fmt::format("{} received {} from {}", f.mail_from, v.in_reply_to,
                                         fmt::join(*participants, ","))
                           : fmt::format("{} never received {}", f.mail_from, v.in_reply_to)))
      return add_reason(v, policy::Reason::reply_not_in_thread,
                        "the reply does not answer a message this inbox received from its "
                        "recipients",
                        s);
  }
  auto spent = store.spent_digest(v.jti);
  bool retry = spent && *spent == v.proof_digest;
  if (!note("session.replay", !spent || retry,
            !spent  ? fmt::format("jti {} not spent yet", v.jti)
            : retry ? fmt::format("jti {} spent on this very message (an SMTP retry)", v.jti)
                    : fmt::format("jti {} spent on another message", v.jti)))
    return add_reason(v, policy::Reason::proof_replayed,
                      "this proof was already used for another message", s);
  const auto* g = view.grant(v.grant);
  if (!g || retry) return;
  auto n = static_cast<std::int64_t>(f.recipients.size());
  bool ok = (!g->max_messages || g->messages_used < *g->max_messages) &&
            (!g->max_recipients || g->recipients_used + n <= *g->max_recipients);
  auto limit = [](const std::optional<std::int64_t>& m) {
    return m ? std::to_string(*m) : std::string("unlimited");
  };
  if (!note("session.quota", ok,
            fmt::format("messages {}/{}, recipients {}+{}/{}", g->messages_used,
                        limit(g->max_messages), g->recipients_used, n, limit(g->max_recipients))))
    add_reason(v, policy::Reason::grant_exhausted,
               "the grant's message or recipient quota is used up", s);
}

std::string reasons_text(const std::vector<policy::Reason>& reasons) {
  std::vector<std::string> out;
  for (auto r : reasons) out.emplace_back(policy::to_string(r));
  return out.empty() ? "none" : fmt::format("{}", fmt::join(out, ","));
}

int explain(Context& ctx, ExplainArgs& a) {
  const auto& policy = ctx.config().policy;
  const auto& rules = policy.address_rules;
  std::string error;
  auto raw = read_input(a.file);
  auto msg = policy::parse_message(raw, &error);
  if (!msg) throw UsageError("the message is malformed: " + error);

  policy::MessageFacts f;
  f.client_addr = a.client_addr;
  f.auth_login = a.login;
  f.cert_subject = a.cert_subject;
  f.now = common::now_seconds();
  if (!a.at.empty()) {
    auto t = common::parse_iso8601(a.at);
    if (!t) throw UsageError(fmt::format("--at '{}' is not an ISO 8601 time", a.at));
    f.now = *t;
  }
  if (a.mail_from.empty()) {
    auto from = policy::header_value(*msg, "from");
    auto boxes = from ? policy::extract_mailboxes(*from, rules) : std::vector<std::string>{};
    if (boxes.empty()) throw UsageError("no envelope sender: give --mail-from or a From header");
    f.mail_from = boxes.front();
  } else {
    f.mail_from = a.mail_from == "<>" ? "" : policy::normalize_address(a.mail_from, rules);
  }
  std::vector<std::string> rcpts;
  for (const auto& r : a.rcpts) rcpts.push_back(policy::normalize_address(r, rules));
  if (rcpts.empty()) rcpts = policy::header_recipients(*msg, rules);
  if (rcpts.empty()) throw UsageError("no recipients: give --rcpt or To/Cc/Bcc headers");

  auto& store = ctx.store();
  registry::StoreLookup view(store);  // as the daemon's end-of-message view reads
  std::vector<Step> trace;
  // RCPT stage: each recipient is accepted or refused on its own, as at the MTA.
  std::vector<Refused> refused;
  for (const auto& r : rcpts) {
    auto check = policy::check_recipient(f, r, view, policy);
    bool refusable = check.reason && (check.action == policy::Action::reject ||
                                      check.action == policy::Action::tempfail);
    trace.push_back(
        {"rcpt",
         {"rcpt", !check.reason,
          check.reason ? fmt::format("{}: {} ({}): {}", r, policy::to_string(*check.reason),
                                     policy::to_string(check.action), check.detail)
                       : fmt::format("{}: accepted", r)}});
    if (refusable) refused.push_back({r, *check.reason, check.action, check.detail});
    // Monitor mode lets a refusable recipient through, as the daemon does.
    if (!refusable || policy.mode == policy::Mode::monitor) f.recipients.push_back(r);
  }
  // End of message, for the recipients RCPT accepted; with none, RCPT's refusal is the answer.
  policy::Verdict v;
  if (f.recipients.empty()) {
    for (const auto& r : refused) {
      v.reasons.push_back(r.reason);
      v.would_action = std::max(v.would_action, r.action);
    }
    v.detail = refused.front().detail;
  } else {
    bool governed = policy.in_agent_domain(f.mail_from) || policy.listed_inbox(f.mail_from) ||
                    view.by_inbox(f.mail_from).identity != nullptr;
    std::size_t kept = 0;
    for (const auto& [name, value] : msg->headers)
      policy::add_header(f, name, value, rules, governed, kept);
    if (governed) f.body_hash = policy::base64url_digest(policy::relaxed_body_hash(msg->body));
    policy::Trace eom;
    v = policy::evaluate(f, view, policy, &eom);
    for (auto& step : eom) trace.push_back({"eom", std::move(step)});
    session_state(v, f, view, store, policy, trace);
  }
  v.action = policy.mode == policy::Mode::monitor ? policy::Action::accept : v.would_action;

  if (ctx.json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : trace)
      steps.push_back({{"stage", s.stage},
                       {"check", s.step.check},
                       {"passed", s.step.passed},
                       {"compared", s.step.compared}});
    std::vector<std::string> reasons;
    for (auto r : v.reasons) reasons.emplace_back(policy::to_string(r));
    ctx.print_json({{"action", policy::to_string(v.action)},
                    {"would_action", policy::to_string(v.would_action)},
                    {"mode", policy.mode == policy::Mode::monitor ? "monitor" : "enforce"},
                    {"reasons", reasons},
                    {"detail", v.detail},
                    {"identity", v.sender_identity},
                    {"grant", v.grant},
                    {"task", v.task},
                    {"mail_from", f.mail_from},
                    {"recipients", rcpts},
                    {"accepted_recipients", f.recipients},
                    {"refused_recipients", refused_json(refused)},
                    {"at", common::format_iso8601(f.now)},
                    {"trace", steps}});
  } else {
    std::cout << fmt::format("envelope  MAIL FROM:<{}>  RCPT TO:<{}>  login '{}'  at {}\n",
                             f.mail_from, fmt::join(rcpts, ">,<"), f.auth_login,
                             common::format_iso8601(f.now));
    for (const auto& s : trace)
      std::cout << fmt::format("{:<7} {:<4} {:<24} {}\n", s.stage, s.step.passed ? "ok" : "FAIL",
                               s.step.check, s.step.compared);
    for (const auto& r : refused)
      std::cout << fmt::format("refused   <{}> at RCPT: {} ({})\n", r.address,
                               policy::to_string(r.reason), policy::to_string(r.action));
    std::cout << fmt::format("verdict   {} (reasons: {}){}{}\n", policy::to_string(v.would_action),
                             reasons_text(v.reasons), v.detail.empty() ? "" : ": " + v.detail,
                             f.recipients.empty() ? " [no recipient accepted at RCPT]" : "");
    if (policy.mode == policy::Mode::monitor)
      std::cout << "mode      monitor: the MTA would be told accept\n";
  }
  // Exit 1 when enforce mode would refuse, hold or defer the message or any recipient.
  return v.would_action == policy::Action::accept && refused.empty() ? kOk : kRefused;
}

}  // namespace

void add_explain_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ExplainArgs>();
  auto* c = app.add_subcommand(
      "explain", "Decide a message file offline and print every check with what it compared");
  c->add_option("--mail-from", a->mail_from,
                "Envelope sender (default: the From address; <> "
                "for the null sender)");
  c->add_option("--rcpt", a->rcpts, "Envelope recipient (default: To, Cc and Bcc)")
      ->allow_extra_args(false);
  c->add_option("--login", a->login, "SMTP AUTH login the MTA reports ({auth_authen})");
  c->add_option("--cert-subject", a->cert_subject, "Verified client certificate subject");
  c->add_option("--client-addr", a->client_addr, "SMTP client address");
  c->add_option("--at", a->at, "Decide as of this ISO 8601 time (default: now)");
  c->add_option("FILE", a->file, "Message file (default: stdin)");
  c->callback([&ctx, a] { ctx.run = [&ctx, a] { return explain(ctx, *a); }; });
}

}  // namespace agentgate::cli
