// The identity lifecycle of SPEC section 3 as one table: every transition from every starting
// status by every kind of actor, allowed (and to which status) or refused (and by which rule).
// Approval-rule and request-validation details live in policy_governance_rules_test.cpp.
#include <array>
#include <string>

#include <doctest/doctest.h>

#include "policy/governance.hpp"
#include "test_support.hpp"

namespace agentgate::policy {
namespace {

using namespace agentgate::testing;

enum class Op {
  request,
  approve_owner,
  approve_ig,
  approve_system,
  reject,
  suspend,
  resume,
  revoke,
  renew
};
enum class From {
  requested,
  owner_approved,
  active,
  suspended,
  expired_by_time,
  revoked,
  rejected
};

constexpr const char* kOpNames[] = {"request",        "approve owner", "approve ig",
                                    "approve system", "reject",        "suspend",
                                    "resume",         "revoke",        "renew"};
constexpr const char* kFromNames[] = {"requested",       "owner_approved", "active",  "suspended",
                                      "expired-by-time", "revoked",        "rejected"};

// Columns of every row, in this order.
constexpr std::array<const char*, 8> kActors = {kRequester, kBusinessOwner, kSystemOwner,
                                                kIgMember,  kIgRecorded,    kSecurityOfficer,
                                                kUnrelated, kAgentId};
constexpr std::array<const char*, 8> kActorRoles = {"requester",
                                                    "business owner",
                                                    "system owner",
                                                    "IG reviewer (member)",
                                                    "recorded IG reviewer",
                                                    "security officer",
                                                    "unrelated human",
                                                    "agent"};

using Outcomes = std::array<const char*, 8>;

// A row: one transition from one starting status, with the outcome for each actor column:
// "-> STATUS" when allowed (the effective status it leads to), else the refusing rule.
struct Row {
  Op op;
  From from;
  Outcomes outcome;
};

constexpr const char* REQ = "-> requested";
constexpr const char* OWN = "-> owner_approved";
constexpr const char* ACT = "-> active";
constexpr const char* SUS = "-> suspended";
constexpr const char* REV = "-> revoked";
constexpr const char* REJ = "-> rejected";
constexpr const char* SA = "self_approval";
constexpr const char* WO = "wrong_owner";
constexpr const char* NIG = "not_ig_reviewer";
constexpr const char* OAF = "owner_approval_first";
constexpr const char* NA = "not_authorized";
constexpr const char* AG = "agent_actor";
constexpr const char* PAST = "expiry_in_past";

// Every human gets the same refusal; the agent is refused as an agent before anything else.
constexpr Outcomes all(const char* rule) {
  return {rule, rule, rule, rule, rule, rule, rule, AG};
}

using enum Op;
using enum From;

// clang-format off
constexpr Row kTable[] = {
  //                           rita  bob  sam  ivy   alice soc   mallory agent
  // request ignores whatever status the draft claims; a draft already past its expiry is refused.
  {request, requested,       {REQ,  SA,  SA,  REQ,  REQ,  REQ,  REQ,  AG}},
  {request, owner_approved,  {REQ,  SA,  SA,  REQ,  REQ,  REQ,  REQ,  AG}},
  {request, active,          {REQ,  SA,  SA,  REQ,  REQ,  REQ,  REQ,  AG}},
  {request, suspended,       {REQ,  SA,  SA,  REQ,  REQ,  REQ,  REQ,  AG}},
  {request, expired_by_time, {PAST, SA,  SA,  PAST, PAST, PAST, PAST, AG}},
  {request, revoked,         {REQ,  SA,  SA,  REQ,  REQ,  REQ,  REQ,  AG}},
  {request, rejected,        {REQ,  SA,  SA,  REQ,  REQ,  REQ,  REQ,  AG}},

  {approve_owner, requested,       {SA, OWN, WO, WO, WO, WO, WO, AG}},
  {approve_owner, owner_approved,  all("already_approved")},
  {approve_owner, active,          all("not_pending")},
  {approve_owner, suspended,       all("not_pending")},
  {approve_owner, expired_by_time, all("not_pending")},
  {approve_owner, revoked,         all("not_pending")},
  {approve_owner, rejected,        all("not_pending")},

  // IG comes after the owner; a privileged identity still waits for the system owner.
  {approve_ig, requested,       {SA, NIG, NIG, OAF, OAF, NIG, NIG, AG}},
  {approve_ig, owner_approved,  {SA, NIG, NIG, OWN, OWN, NIG, NIG, AG}},
  {approve_ig, active,          all("not_pending")},
  {approve_ig, suspended,       all("not_pending")},
  {approve_ig, expired_by_time, all("not_pending")},
  {approve_ig, revoked,         all("not_pending")},
  {approve_ig, rejected,        all("not_pending")},

  // The system approval may come at any point of the round; alone it activates nothing.
  {approve_system, requested,       {SA, WO, REQ, WO, WO, WO, WO, AG}},
  {approve_system, owner_approved,  {SA, WO, OWN, WO, WO, WO, WO, AG}},
  {approve_system, active,          all("not_pending")},
  {approve_system, suspended,       all("not_pending")},
  {approve_system, expired_by_time, all("not_pending")},
  {approve_system, revoked,         all("not_pending")},
  {approve_system, rejected,        all("not_pending")},

  {reject, requested,       {NA, REJ, REJ, REJ, REJ, REJ, NA, AG}},
  {reject, owner_approved,  {NA, REJ, REJ, REJ, REJ, REJ, NA, AG}},
  {reject, active,          all("not_pending")},
  {reject, suspended,       all("not_pending")},
  {reject, expired_by_time, all("not_pending")},
  {reject, revoked,         all("not_pending")},
  {reject, rejected,        all("not_pending")},

  // Once an IG reviewer is recorded, only that reviewer speaks for IG on this identity.
  {suspend, requested,       all("not_active")},
  {suspend, owner_approved,  all("not_active")},
  {suspend, active,          {NA, SUS, SUS, NA, SUS, SUS, NA, AG}},
  {suspend, suspended,       all("not_active")},
  {suspend, expired_by_time, all("not_active")},
  {suspend, revoked,         all("not_active")},
  {suspend, rejected,        all("not_active")},

  // Owners may suspend but never lift a suspension.
  {resume, requested,       all("not_suspended")},
  {resume, owner_approved,  all("not_suspended")},
  {resume, active,          all("not_suspended")},
  {resume, suspended,       {NA, NA, NA, NA, ACT, ACT, NA, AG}},
  {resume, expired_by_time, all("not_suspended")},
  {resume, revoked,         all("not_suspended")},
  {resume, rejected,        all("not_suspended")},

  // Before the IG approval any IG member counts as "the IG reviewer".
  {revoke, requested,       {NA, REV, REV, REV, REV, REV, NA, AG}},
  {revoke, owner_approved,  {NA, REV, REV, REV, REV, REV, NA, AG}},
  {revoke, active,          {NA, REV, REV, NA,  REV, REV, NA, AG}},
  {revoke, suspended,       {NA, REV, REV, NA,  REV, REV, NA, AG}},
  {revoke, expired_by_time, {NA, REV, REV, NA,  REV, REV, NA, AG}},
  {revoke, revoked,         all("terminal")},
  {revoke, rejected,        all("terminal")},

  // Renewal opens a new round (a live identity keeps its status meanwhile); an owner cannot
  // open the round they would approve.
  {renew, requested,       all("not_renewable")},
  {renew, owner_approved,  all("not_renewable")},
  {renew, active,          {ACT, SA, SA, ACT, ACT, ACT, NA, AG}},
  {renew, suspended,       {SUS, SA, SA, SUS, SUS, SUS, NA, AG}},
  {renew, expired_by_time, {REQ, SA, SA, REQ, REQ, REQ, NA, AG}},
  {renew, revoked,         all("not_renewable")},
  {renew, rejected,        all("not_renewable")},
};
// clang-format on

Approval approval(ApprovalRole role, const char* actor) {
  return {role, actor, kNow - std::chrono::hours(1), ""};
}

// The sample identity, brought into the given starting status the way the lifecycle would.
Identity identity_in(From from) {
  Identity i = sample_identity(kNow - std::chrono::days(10));
  i.expires_at = kNow + std::chrono::days(20);
  auto approved = [&] {
    i.approvals = {approval(ApprovalRole::owner, kBusinessOwner),
                   approval(ApprovalRole::ig, kIgRecorded),
                   approval(ApprovalRole::system, kSystemOwner)};
    i.ig_reviewer = kIgRecorded;
    i.status = Status::active;
  };
  switch (from) {
    case From::requested:
      break;
    case From::owner_approved:
      i.status = Status::owner_approved;
      i.approvals = {approval(ApprovalRole::owner, kBusinessOwner)};
      break;
    case From::active:
      approved();
      break;
    case From::suspended:
      approved();
      i.status = Status::suspended;
      break;
    case From::expired_by_time:
      approved();
      i.expires_at = kNow - std::chrono::hours(1);
      break;
    case From::revoked:
      approved();
      i.status = Status::revoked;
      break;
    case From::rejected:
      i.status = Status::rejected;
      i.approvals = {approval(ApprovalRole::owner, kBusinessOwner)};
      break;
  }
  return i;
}

Result<Identity> apply(Op op, const Identity& cur, const char* actor) {
  const auto rules = governance_rules();
  const auto agents = fake_agents();
  const Time renewal = kNow + std::chrono::days(60);
  switch (op) {
    case Op::request:
      return request_identity(cur, actor, rules, agents, kNow);
    case Op::approve_owner:
      return approve_identity(cur, ApprovalRole::owner, actor, "", rules, agents, kNow);
    case Op::approve_ig:
      return approve_identity(cur, ApprovalRole::ig, actor, "", rules, agents, kNow);
    case Op::approve_system:
      return approve_identity(cur, ApprovalRole::system, actor, "", rules, agents, kNow);
    case Op::reject:
      return reject_identity(cur, actor, "no", rules, agents, kNow);
    case Op::suspend:
      return suspend_identity(cur, actor, "incident", rules, agents, kNow);
    case Op::resume:
      return resume_identity(cur, actor, "cleared", rules, agents, kNow);
    case Op::revoke:
      return revoke_identity(cur, actor, "retired", rules, agents, kNow);
    case Op::renew:
      return renew_identity(cur, renewal, actor, rules, agents, kNow);
  }
  return Refusal{"unreachable", ""};
}

std::string outcome_of(const Result<Identity>& r) {
  if (!r.ok()) return r.refusal().rule;
  return "-> " + std::string(to_string(effective_status(r.value(), kNow)));
}

TEST_CASE("lifecycle: every transition x starting status x actor is allowed or refused by rule") {
  for (const auto& row : kTable) {
    for (size_t a = 0; a < kActors.size(); ++a) {
      const std::string name = std::string(kOpNames[static_cast<size_t>(row.op)]) + " from " +
                               kFromNames[static_cast<size_t>(row.from)] + " by " + kActorRoles[a];
      SUBCASE(name.c_str()) {
        const Identity before = identity_in(row.from);
        const auto result = apply(row.op, before, kActors[a]);
        // One comparison per cell, so a wrong cell prints expected and actual side by side
        // and never stops the other cells from running.
        CHECK(outcome_of(result) == std::string(row.outcome[a]));
        if (result.ok()) {
          CHECK(result.value().updated_at == kNow);
          CHECK(result.value().id == before.id);
        } else {
          CHECK_FALSE(result.refusal().message.empty());
        }
      }
    }
  }
}

TEST_CASE("lifecycle: the table covers every transition from every starting status") {
  std::array<std::array<int, 7>, 9> seen{};
  for (const auto& row : kTable) ++seen[static_cast<size_t>(row.op)][static_cast<size_t>(row.from)];
  for (size_t op = 0; op < seen.size(); ++op)
    for (size_t from = 0; from < seen[op].size(); ++from) {
      CAPTURE(kOpNames[op]);
      CAPTURE(kFromNames[from]);
      CHECK(seen[op][from] == 1);
    }
}

TEST_CASE("lifecycle: request resets what a draft claims about its own progress") {
  for (auto from : {From::owner_approved, From::active, From::revoked}) {
    SUBCASE(kFromNames[static_cast<size_t>(from)]) {
      Identity draft = identity_in(from);
      draft.round = 7;
      draft.renewal_expires_at = kNow + std::chrono::days(5);
      draft.credential_type.clear();
      auto r = request_identity(draft, kRequester, governance_rules(), fake_agents(), kNow);
      REQUIRE(r.ok());
      CHECK(r.value().status == Status::requested);
      CHECK(r.value().round == 1);
      CHECK(r.value().approvals.empty());
      CHECK(r.value().ig_reviewer.empty());
      CHECK_FALSE(r.value().renewal_expires_at.has_value());
      CHECK(r.value().requester == kRequester);
      CHECK(r.value().created_at == kNow);
      CHECK(r.value().credential_type == "smtp-auth");
    }
  }
}

TEST_CASE("lifecycle: refusals carry the recorded status in their message") {
  // An operator reading "not_active" must learn what the identity is instead.
  auto r = suspend_identity(identity_in(From::expired_by_time), kSecurityOfficer, "x",
                            governance_rules(), fake_agents(), kNow);
  REQUIRE_FALSE(r.ok());
  CHECK(r.refusal().message.find("expired") != std::string::npos);
  CHECK(r.refusal().message.find("helpdesk-bot") != std::string::npos);
}

}  // namespace
}  // namespace agentgate::policy
