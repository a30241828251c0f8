// The filter's steps (filter.hpp), for whichever protocol engine drives them. They gather
// MessageFacts into the per-connection Session and, at RCPT and end of message, hand them to the
// pure policy engine; only here does a Verdict become an SMTP reply, a quarantine, header edits
// and a Step. Every step runs inside guarded(), the one exception barrier at the C boundary:
// any internal error tempfails.
#include "milter/filter.hpp"

#include <libmilter/mfapi.h>  // the protocol's SMFIF_/SMFIP_/SMFIM_ constants only

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "milter/decision_event.hpp"
#include "milter/runtime.hpp"
#include "milter/session.hpp"
#include "policy/engine.hpp"
#include "policy/facts.hpp"
#include "registry/identity_json.hpp"

namespace agentgate::milter {
namespace {

Runtime* g_runtime = nullptr;

Session& ensure_session(MtaContext& m) {
  if (auto* s = m.session()) return *s;
  auto owned = std::make_unique<Session>();
  m.set_session(owned.get());
  return *owned.release();
}

void tempfail_reply(MtaContext& m) {
  m.set_reply("451", "4.7.1", "agentgate: internal_error: could not decide, try again later");
}

// The one exception barrier at the C boundary. A step negotiated without a reply (SMFIP_NR_*)
// cannot tempfail where it fails: the failure is kept in the session and the next step that
// answers (RCPT or end of message) tempfails instead, so nothing passes undecided.
template <typename F>
Step guarded(MtaContext& m, const char* stage, unsigned long no_reply_flag, F&& body) noexcept {
  std::string what;
  try {
    return body();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  log_error(fmt::format("internal error at {}: {}; tempfailing", stage, what));
  if (g_runtime) g_runtime->metrics.internal_error();
  auto* s = m.session();
  if (s && (s->no_reply & no_reply_flag)) {
    s->deferred_error = stage;
    return Step::no_reply;
  }
  tempfail_reply(m);
  return Step::tempfail;
}

template <typename F>
Step guarded(MtaContext& m, const char* stage, F&& body) noexcept {
  return guarded(m, stage, 0, std::forward<F>(body));
}

// What a step whose answer is always "continue" returns: nothing at all when the MTA agreed
// not to wait for it.
Step carry_on(const Session& s, unsigned long no_reply_flag) {
  return (s.no_reply & no_reply_flag) ? Step::no_reply : Step::cont;
}

// A failure in an earlier step that had no reply of its own.
bool failed_earlier(MtaContext& m, const Session& s, const char* stage) {
  if (s.deferred_error.empty()) return false;
  log_error(fmt::format("{}: tempfailing after the internal error at {}", stage, s.deferred_error));
  tempfail_reply(m);
  return true;
}

std::string address_of(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!sa) return "";
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

// Records the decision; false when the event could not be written and config says that must
// not pass.
bool record(const Decision& d, const common::Config& cfg) {
  auto event = ecs_event(d, cfg.policy, g_runtime->hostname);
  bool written = g_runtime->events.append(event);
  if (!written) g_runtime->metrics.event_write_error();
  log_info(log_line(d) + (written ? "" : " [event log write FAILED]"));
  return written || !cfg.events.tempfail_on_write_error;
}

// The config of the open transaction: pinned at MAIL (a message without MAIL, e.g. a
// callback after an aborted transaction, sees the current one).
const common::Config& config_of(Session& s) {
  if (!s.config) s.config = g_runtime->config.load();
  return *s.config;
}

Step refuse(MtaContext& m, policy::Action action, const std::string& text) {
  bool reject = action == policy::Action::reject;
  m.set_reply(reject ? "550" : "451", reject ? "5.7.1" : "4.7.1", text);
  return reject ? Step::reject : Step::tempfail;
}

// Protocol work is most of a milter's cost (docs/benchmarks.md). Steps agentgate never looks at
// are not sent at all (SMFIP_NO*); steps whose answer is always "continue" are sent without
// waiting for an answer (SMFIP_NR_*), so the MTA streams connect, MAIL, headers and body in
// one write. RCPT (per-recipient refusals) and end of message are the only round trips.
constexpr unsigned long kNotSent = SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA;
constexpr unsigned long kNoReply = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_BODY;

}  // namespace

void filter_negotiate(MtaContext& m, unsigned long f0, unsigned long f1, unsigned long* pf0,
                      unsigned long* pf1) noexcept {
  *pf0 = 0;
  *pf1 = 0;
  guarded(m, "negotiate", [&] {
    auto& s = ensure_session(m);
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
    // Without SMFIP_NR_BODY (an older MTA), the body of mail from an ungoverned sender is
    // skipped after its first chunk instead.
    *pf1 = f1 & (kNotSent | kNoReply | SMFIP_SKIP);
    s.no_reply = *pf1 & kNoReply;
    if (f0 & SMFIF_SETSYMLIST) {
      // Only these macros, only at these stages: Postfix then sends no others.
      m.request_macros(SMFIM_ENVFROM, "{auth_authen} {auth_type} {cert_subject} i");
      m.request_macros(SMFIM_EOM, "i {auth_authen}");
    }
    return Step::cont;
  });
}

Step filter_connect(MtaContext& m, const sockaddr* addr) noexcept {
  return guarded(m, "connect", SMFIP_NR_CONN, [&] {
    auto& s = ensure_session(m);
    s.client_addr = address_of(addr);
    s.reset_message();
    return carry_on(s, SMFIP_NR_CONN);
  });
}

Step filter_mail(MtaContext& m, const char* sender) noexcept {
  return guarded(m, "mail", SMFIP_NR_MAIL, [&] {
    auto& s = ensure_session(m);
    s.reset_message();  // a new transaction: nothing of an earlier one survives
    s.in_message = true;
    s.config = g_runtime->config.load();
    s.snapshot = g_runtime->registry.snapshot();
    const auto& policy = s.config->policy;
    s.facts.mail_from = policy::normalize_address(sender ? sender : "", policy.address_rules);
    s.facts.auth_login = m.macro("{auth_authen}");
    s.facts.cert_subject = m.macro("{cert_subject}");
    s.facts.queue_id = m.macro("i");
    bool governed = policy.in_agent_domain(s.facts.mail_from) ||
                    policy.listed_inbox(s.facts.mail_from) ||
                    (s.snapshot && s.snapshot->by_inbox(s.facts.mail_from));
    if (governed) s.body.emplace();
    return carry_on(s, SMFIP_NR_MAIL);
  });
}

Step filter_rcpt(MtaContext& m, const char* recipient) noexcept {
  return guarded(m, "rcpt", [&] {
    auto& s = ensure_session(m);
    if (failed_earlier(m, s, "rcpt")) return Step::tempfail;
    const auto* cfg = &config_of(s);
    auto rcpt = policy::normalize_address(recipient ? recipient : "", cfg->policy.address_rules);
    s.facts.now = common::now_seconds();
    auto check = policy::check_recipient(s.facts, rcpt, *g_runtime->registry.rcpt_view(s.snapshot),
                                         cfg->policy);
    bool refusable =
        check.action == policy::Action::reject || check.action == policy::Action::tempfail;
    if (!check.reason || !refusable) {
      s.facts.recipients.push_back(rcpt);
      return Step::cont;
    }
    Decision d{make_event_id(), "rcpt", &s.facts, {}, {rcpt}};
    d.verdict.reasons = {*check.reason};
    d.verdict.would_action = check.action;
    d.verdict.detail = check.detail;
    d.verdict.directions = check.direction;
    if (check.direction == policy::kOutbound)
      d.verdict.sender_identity = check.identity;
    else
      d.verdict.recipient_identities = {check.identity};
    bool monitor = cfg->policy.mode == policy::Mode::monitor;
    d.verdict.action = monitor ? policy::Action::accept : check.action;
    bool recorded = record(d, *cfg);
    auto told =
        monitor ? (recorded ? policy::Action::accept : policy::Action::tempfail) : check.action;
    g_runtime->metrics.decision(Stage::rcpt, check.direction, told, d.verdict.reasons);
    if (told == policy::Action::accept) {
      s.facts.recipients.push_back(rcpt);
      return Step::cont;
    }
    return refuse(m, told, reply_text(d));
  });
}

Step filter_header(MtaContext& m, const char* name, const char* value) noexcept {
  return guarded(m, "header", SMFIP_NR_HDR, [&] {
    auto& s = ensure_session(m);
    auto kind =
        policy::add_header(s.facts, name, value ? value : "", config_of(s).policy.address_rules,
                           s.body.has_value(), s.header_bytes);
    if (kind == policy::HeaderKind::agentgate_result) ++s.agentgate_result_headers;
    if (kind == policy::HeaderKind::agent_proof) ++s.agent_proof_headers;
    return carry_on(s, SMFIP_NR_HDR);
  });
}

// Headers that must never leave the gateway as they arrived: forged results, and proofs
// (credentials stay inside). Deleted from the last instance down so indexes stay valid.
namespace {

void strip_headers(MtaContext& m, const Session& s) {
  for (int i = s.agentgate_result_headers; i >= 1; --i) m.delete_header("AgentGate-Result", i);
  for (int i = s.agent_proof_headers; i >= 1; --i) m.delete_header("Agent-Proof", i);
}

// Quotas, replay and the thread ledger: checked only when every pure check passed, so a refused
// message never consumes quota or burns its proof. With `generation` (a verdict reached on a
// snapshot not yet confirmed): `moved` when the registry moved past it (nothing was spent; the
// verdict must be reached again), `failed` when the store could not confirm a verdict that
// spends nothing. A store error during a spend is the verdict's own store_unavailable.
using Confirmation = RegistryCache::Confirmation;
Confirmation apply_session_state(policy::Verdict& v, const policy::MessageFacts& f,
                                 const policy::PolicySettings& settings,
                                 std::optional<std::uint64_t> generation = std::nullopt) {
  if (v.jti.empty() || v.would_action != policy::Action::accept)
    return generation ? g_runtime->registry.confirm(*generation) : Confirmation::current;
  std::string detail;
  auto check = g_runtime->registry.session_checks(v, f, &detail, generation);
  if (check.moved) return Confirmation::moved;
  if (!check.refusal) return Confirmation::current;
  v.reasons.insert(v.reasons.begin(), *check.refusal);
  v.detail = detail;
  v.would_action = std::max(v.would_action, settings.action_for(*check.refusal));
  v.action = settings.mode == policy::Mode::monitor ? policy::Action::accept : v.would_action;
  return Confirmation::current;
}

policy::Verdict evaluate_timed(const policy::MessageFacts& f, const policy::IdentityLookup& view,
                               const policy::PolicySettings& settings) {
  auto started = std::chrono::steady_clock::now();
  auto verdict = policy::evaluate(f, view, settings);
  if (!f.agent_proofs.empty())
    g_runtime->metrics.proof_verified(std::chrono::steady_clock::now() - started);
  return verdict;
}

// The verdict at end of message, on a registry known to be current, with the session state
// applied. Without a change feed the snapshot is confirmed after evaluating rather than before:
// a proof's spend carries the check in its own transaction, so a governed message costs the
// store one transaction, not a read and a transaction. If the registry moved meanwhile, the
// message is evaluated again the careful way; if the store could not answer, it gets no second
// attempt: the snapshot decides only while it is fresh, as after any store error.
policy::Verdict decide(const policy::MessageFacts& f, const policy::PolicySettings& settings) {
  auto& registry = g_runtime->registry;
  if (auto tentative = registry.tentative_view()) {
    auto verdict = evaluate_timed(f, *tentative->view, settings);
    switch (apply_session_state(verdict, f, settings, tentative->generation)) {
      case Confirmation::current:
        return verdict;
      case Confirmation::failed:
        return evaluate_timed(f, *registry.unreachable_view(), settings);
      case Confirmation::moved:
        break;
    }
  }
  policy::Verdict verdict;
  {
    auto view = registry.eom_view();  // may hold the store: evaluate, then drop
    verdict = evaluate_timed(f, *view, settings);
  }
  apply_session_state(verdict, f, settings);
  return verdict;
}

// Inbound mail an agent inbox accepted goes into its conversation ledger, so a later reply can
// be checked against it. A failure here degrades replies (refused), never this message.
void remember_inbound(const policy::MessageFacts& f, const policy::Verdict& v) {
  if (!(v.directions & policy::kInbound)) return;
  auto view = g_runtime->registry.rcpt_view();
  std::vector<std::string> inboxes;
  for (const auto& r : f.recipients)
    if (view->by_inbox(r).identity) inboxes.push_back(r);
  try {
    g_runtime->registry.remember_received(inboxes, f);
  } catch (const std::exception& e) {
    log_error(fmt::format("conversation ledger not updated: {}", e.what()));
  }
}

// Could this message be governed at all? Decided from the config and the snapshot pinned at
// MAIL, without the store, so mail that is neither from nor to an agent never waits on it.
bool maybe_governed(const Session& s, const common::Config& cfg) {
  if (s.body) return true;  // the sender was governed at MAIL
  return std::any_of(s.facts.recipients.begin(), s.facts.recipients.end(), [&](const auto& r) {
    return cfg.policy.in_agent_domain(r) || cfg.policy.listed_inbox(r) ||
           (s.snapshot && s.snapshot->by_inbox(r));
  });
}

// The quarantine index row for this decision (the MTA keeps no reason), with the identity and
// grant as the current snapshot holds them.
registry::QuarantineRecord quarantine_record(const Decision& d, const policy::MessageFacts& f) {
  registry::QuarantineRecord q;
  const auto& v = d.verdict;
  q.queue_id = f.queue_id;
  q.mta_host = g_runtime->hostname;
  q.at = f.now;
  q.identity = !v.sender_identity.empty()       ? v.sender_identity
               : v.recipient_identities.empty() ? ""
                                                : v.recipient_identities.front();
  q.grant = v.grant;
  q.task = v.task;
  q.mail_from = f.mail_from;
  q.recipients = f.recipients;
  q.header_from = f.from_addresses.empty() ? "" : f.from_addresses.front();
  q.subject = f.subject;
  q.message_id = f.message_id;
  for (auto r : v.reasons) q.reasons.emplace_back(policy::to_string(r));
  q.event_id = d.event_id;
  nlohmann::json context = nlohmann::json::object();
  if (auto snap = g_runtime->registry.snapshot()) {
    if (const auto* id = snap->by_id(q.identity))
      context["identity"] = registry::identity_to_json(*id, f.now);
    if (const auto* g = snap->grant(q.grant)) context["grant"] = registry::grant_to_json(*g, f.now);
  }
  q.context = context.dump();
  return q;
}

Step decide_eom(MtaContext& m, Session& s) {
  const auto* cfg = &config_of(s);
  g_runtime->metrics.message_seen();
  if (!maybe_governed(s, *cfg)) {
    strip_headers(m, s);
    return Step::cont;
  }
  if (auto qid = m.macro("i"); !qid.empty()) s.facts.queue_id = qid;
  if (s.facts.auth_login.empty()) s.facts.auth_login = m.macro("{auth_authen}");
  s.facts.now = common::now_seconds();
  if (s.body) s.facts.body_hash = policy::base64url_digest(s.body->finish());
  s.body.reset();
  Decision d{make_event_id(), "eom", &s.facts, decide(s.facts, cfg->policy), s.facts.recipients};
  if (!d.verdict.governed()) {
    strip_headers(m, s);
    return Step::cont;
  }
  if (d.verdict.action == policy::Action::quarantine) {
    // Held mail nobody can explain is the failure this index exists for: without its row the
    // message is tempfailed (the sender retries) rather than held without a reason.
    try {
      g_runtime->registry.record_quarantine(quarantine_record(d, s.facts));
    } catch (const std::exception& e) {
      log_error(fmt::format("quarantine index not written: {}", e.what()));
      d.verdict.action = policy::Action::tempfail;
      d.verdict.reasons.insert(d.verdict.reasons.begin(), policy::Reason::internal_error);
      d.verdict.detail = "quarantine index unwritable";
    }
  }
  if (!record(d, *cfg) && d.verdict.action != policy::Action::reject) {
    d.verdict.action = policy::Action::tempfail;
    d.verdict.reasons.insert(d.verdict.reasons.begin(), policy::Reason::internal_error);
    d.verdict.detail = "event log unwritable";
  }
  g_runtime->metrics.decision(Stage::eom, d.verdict.directions, d.verdict.action,
                              d.verdict.reasons);
  switch (d.verdict.action) {
    case policy::Action::reject:
    case policy::Action::tempfail:
      return refuse(m, d.verdict.action, reply_text(d));
    case policy::Action::quarantine: {
      auto reason = reply_text(d);
      m.quarantine(reason);
      [[fallthrough]];
    }
    case policy::Action::accept:
      remember_inbound(s.facts, d.verdict);
      strip_headers(m, s);
      m.insert_header(0, "AgentGate-Result", result_header(d, cfg->policy));
      return Step::cont;
  }
  return Step::tempfail;
}

}  // namespace

Step filter_body(MtaContext& m, const unsigned char* chunk, std::size_t len) noexcept {
  return guarded(m, "body", SMFIP_NR_BODY, [&] {
    auto& s = ensure_session(m);
    if (s.body) s.body->update({reinterpret_cast<const char*>(chunk), len});
    if (s.no_reply & SMFIP_NR_BODY) return Step::no_reply;
    return s.body ? Step::cont : Step::skip;
  });
}

Step filter_eom(MtaContext& m) noexcept {
  return guarded(m, "eom", [&] {
    auto& s = ensure_session(m);
    if (failed_earlier(m, s, "eom")) {
      s.reset_message();
      return Step::tempfail;
    }
    auto result = decide_eom(m, s);
    s.reset_message();
    return result;
  });
}

void filter_abort(MtaContext& m) noexcept {
  guarded(m, "abort", [&] {
    if (auto* s = m.session()) s->reset_message();
    return Step::cont;
  });
}

void filter_close(MtaContext& m) noexcept {
  guarded(m, "close", [&] {
    delete m.session();
    m.set_session(nullptr);
    return Step::cont;
  });
}

void install_runtime(Runtime* runtime) {
  g_runtime = runtime;
}

}  // namespace agentgate::milter
