// The reason trace behind `agentgatectl explain`: tracing never changes a decision; a message
// that passes shows every check passed, in the engine's order; a message that fails shows the
// failed check by name with the values it compared, and the checks after it are not run.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "policy_proof_support.hpp"

namespace agentgate::testing {
namespace {

using policy::Reason;
using policy::Trace;

std::vector<std::string> names(const Trace& t) {
  std::vector<std::string> out;
  for (const auto& s : t) out.push_back(s.check);
  return out;
}

const policy::TraceStep* failed(const Trace& t) {
  auto it = std::find_if(t.begin(), t.end(), [](const auto& s) { return !s.passed; });
  return it == t.end() ? nullptr : &*it;
}

TEST_CASE("trace: a valid signed message passes every check, in the engine's order") {
  auto c = proof_case();
  Trace trace;
  auto v = c.evaluate(&trace);
  CHECK(v.reasons.empty());
  CHECK(failed(trace) == nullptr);
  const std::vector<std::string> expected = {"sender.governed",
                                             "sender.registry",
                                             "sender.status",
                                             "sender.principal",
                                             "header.from",
                                             "proof.present",
                                             "proof.single",
                                             "proof.format",
                                             "grant.known",
                                             "grant.identity",
                                             "grant.state",
                                             "proof.signature",
                                             "proof.audience",
                                             "proof.lifetime",
                                             "proof.not_before",
                                             "proof.not_after",
                                             "proof.signed_headers",
                                             "proof.unsigned_instances",
                                             "proof.mf",
                                             "proof.rth",
                                             "proof.hh",
                                             "proof.bh",
                                             "proof.task",
                                             "proof.action",
                                             "grant.target",
                                             "sender.action",
                                             "sender.target"};
  CHECK(names(trace) == expected);
}

struct TraceRow {
  const char* name;
  std::function<void(ProofCase&)> change;
  const char* failed_check;
  Reason reason;
  std::vector<const char*> compared_has;  // fragments of the failed step's compared values
};

TEST_CASE("trace: a failing check is named, with the values it compared, and ends the proof") {
  const std::vector<TraceRow> rows = {
      {"wrong audience",
       claim("aud", "agentgate:elsewhere"),
       "proof.audience",
       Reason::proof_wrong_audience,
       {"agentgate:elsewhere", kAudience}},
      {"body changed",
       [](ProofCase& c) { c.facts.body_hash = body_hash("changed\r\n"); },
       "proof.bh",
       Reason::proof_binding_mismatch,
       {"bh "}},
      {"expired", times(-400, -100), "proof.not_after", Reason::proof_expired, {"exp", "now"}},
      {"unknown grant",
       [](ProofCase& c) { c.header.kid = "g-ffffffffffffffffffff"; },
       "grant.known",
       Reason::grant_unknown,
       {"g-ffffffffffffffffffff"}},
      {"login not bound",
       [](ProofCase& c) { c.facts.auth_login = "mallory"; },
       "sender.principal",
       Reason::principal_mismatch,
       {"mallory", "sasl:sales"}},
      {"no proof",
       [](ProofCase& c) { c.proofs = std::vector<std::string>{}; },
       "proof.present",
       Reason::proof_missing,
       {"0 Agent-Proof"}},
      {"recipient outside the grant",
       [](ProofCase& c) { c.grant.targets[policy::Capability::send] = {"@other.example"}; },
       "grant.target",
       Reason::recipient_not_permitted,
       {kAlice, "@other.example"}},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto c = proof_case();
      row.change(c);
      Trace trace;
      auto traced = c.evaluate(&trace);
      auto plain = c.evaluate();
      CHECK(traced.reasons == plain.reasons);
      CHECK(traced.action == plain.action);
      CHECK(std::find(traced.reasons.begin(), traced.reasons.end(), row.reason) !=
            traced.reasons.end());
      const auto* step = failed(trace);
      REQUIRE(step != nullptr);
      CHECK(step->check == row.failed_check);
      for (const char* fragment : row.compared_has)
        CHECK_MESSAGE(step->compared.find(fragment) != std::string::npos, step->compared);
      if (std::string(row.failed_check).starts_with("proof.") ||
          std::string(row.failed_check).starts_with("grant.")) {
        auto after =
            std::find_if(trace.begin(), trace.end(), [&](const auto& s) { return &s == step; });
        CHECK(std::none_of(after + 1, trace.end(), [](const auto& s) {
          return s.check.starts_with("proof.") || s.check.starts_with("grant.");
        }));
      }
    }
  }
}

TEST_CASE("trace: inbound checks name the inbox and its accept_from") {
  World w;
  w.settings = agent_settings();
  auto bot = sales_bot();
  bot.accept_from = {"@partner.example"};
  w.identities.emplace(bot.id, bot);
  w.facts.mail_from = "stranger@elsewhere.example";
  w.facts.recipients = {kSales};
  w.facts.now = kNow;
  Trace trace;
  auto v = w.evaluate(&trace);
  CHECK(v.untrusted);
  std::vector<std::string> expected = {"sender.governed", "inbox.registry", "inbox.status",
                                       "inbox.receive", "inbox.accept_from"};
  CHECK(names(trace) == expected);
  REQUIRE(failed(trace) != nullptr);
  CHECK(failed(trace)->check == "inbox.accept_from");
  CHECK(failed(trace)->compared.find("@partner.example") != std::string::npos);
}

}  // namespace
}  // namespace agentgate::testing
