// check_proof (SPEC section 4), what the proof binds: rows that change the message in transit or
// what the signer put in h must break mf, rth, hh or bh; task, action and recipients must stay
// within the grant; the digest tells a retry from a replay; and the engine checks a present proof
// even when it is optional, reporting its failure after the findings that need no proof.
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "policy_proof_support.hpp"

namespace agentgate::testing {
namespace {

using policy::Action;
using policy::Capability;
using policy::Reason;

TEST_CASE("proof check: mf/rth/hh/bh bind the envelope and the signed headers and body") {
  const ProofRow rows[] = {
      {"a BCC recipient added after signing",
       [](ProofCase& c) { c.facts.recipients.push_back("eve@example.com"); },
       Reason::proof_binding_mismatch, "rth"},
      {"a recipient dropped after signing",
       [](ProofCase& c) {
         c.facts.recipients.push_back("bob@example.com");
         c.bind();
         c.facts.recipients.pop_back();
       },
       Reason::proof_binding_mismatch, "rth"},
      {"envelope sender changed",
       [](ProofCase& c) { c.facts.mail_from = "other@agents.example.com"; },
       Reason::proof_binding_mismatch, "mf"},
      {"body changed by one byte",
       [](ProofCase& c) {
         std::string body = kBody;
         body[0] = 'J';
         c.facts.body_hash = body_hash(body);
       },
       Reason::proof_binding_mismatch, "bh"},
      {"signed Subject changed", [](ProofCase& c) { c.facts.headers[2].second = "Your invoice"; },
       Reason::proof_binding_mismatch, "hh"},
      {"signed From changed",
       [](ProofCase& c) { c.facts.headers[0].second = "CEO <sales@agents.example.com>"; },
       Reason::proof_binding_mismatch, "hh"},
      {"signed Date removed",
       [](ProofCase& c) { c.facts.headers.erase(c.facts.headers.begin() + 3); },
       Reason::proof_binding_mismatch, "hh"},
      {"h without subject (hh recomputed to match)",
       [](ProofCase& c) {
         c.bind({"from", "to", "date", "message-id"});
       },
       Reason::proof_binding_mismatch, "subject"},
      {"h without from",
       [](ProofCase& c) {
         c.bind({"to", "subject", "date", "message-id"});
       },
       Reason::proof_binding_mismatch, "from"},
      {"h without message-id",
       [](ProofCase& c) {
         c.bind({"from", "to", "subject", "date"});
       },
       Reason::proof_binding_mismatch, "message-id"},
      {"To present but not signed",
       [](ProofCase& c) {
         c.bind({"from", "subject", "date", "message-id"});
       },
       Reason::proof_binding_mismatch, "To"},
      {"To added in transit to a message signed without one",
       [](ProofCase& c) {
         c.facts.headers.erase(c.facts.headers.begin() + 1);
         c.bind();
         c.facts.headers.emplace_back("To", "eve@example.com");
       },
       Reason::proof_binding_mismatch, "To"},
      {"subject oversigned (listed twice in h): a Subject prepended in transit breaks hh",
       [](ProofCase& c) {
         c.bind({"from", "to", "subject", "subject", "date", "message-id"});
         c.facts.headers.insert(c.facts.headers.begin(), {"Subject", "Wire the money today"});
       },
       Reason::proof_binding_mismatch, "hh"},
      {"h names in upper case still count as signed",
       [](ProofCase& c) {
         c.bind({"From", "TO", "Subject", "Date", "Message-ID"});
       },
       std::nullopt},
  };
  for (const auto& row : rows) run(row);
}

// RFC 5322 allows at most one From, To, Cc, Subject, Date, Message-ID, In-Reply-To and
// References, and hh takes each listed name's instances from the bottom, so an instance prepended
// in transit would be neither signed nor noticed: the verifier refuses a header named in h that
// occurs more often than h lists it.
TEST_CASE("proof check: an unsigned extra instance of a signed header is refused") {
  auto prepend = [](const char* name, const char* value) {
    return [=](ProofCase& c) { c.facts.headers.insert(c.facts.headers.begin(), {name, value}); };
  };
  const ProofRow rows[] = {
      {"a second Subject above the signed one", prepend("Subject", "Wire the money today"),
       Reason::proof_binding_mismatch},
      {"a second To above the signed one", prepend("To", "eve@evil.example"),
       Reason::proof_binding_mismatch},
      {"a second Date above the signed one", prepend("Date", "Tue, 02 Jun 2026 09:00:00 +0000"),
       Reason::proof_binding_mismatch},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("proof check: task/action/recipients stay within the grant and the identity") {
  auto only_send = [](ProofCase& c) {
    c.grant.actions = policy::CapabilitySet::of({Capability::send});
    c.grant.targets.erase(Capability::reply);
  };
  const ProofRow rows[] = {
      {"task differs from the grant's", claim("task", "T-2"), Reason::task_mismatch, "T-1"},
      {"act reply, the grant holds only send",
       [only_send](ProofCase& c) {
         only_send(c);
         c.claims["act"] = "reply";
         c.claims["irt"] = "<q7@example.com>";
       },
       Reason::action_not_permitted, "reply"},
      {"act escalate: in the grant, but not the identity's",
       [](ProofCase& c) {
         c.grant.actions.add(Capability::escalate);
         c.grant.targets[Capability::escalate] = {"@example.com"};
         c.claims["act"] = "escalate";
       },
       Reason::action_not_permitted, "escalate"},
      {"recipient outside the grant's narrowed targets",
       [](ProofCase& c) {
         c.grant.targets[Capability::send] = {kAlice};
         c.facts.recipients = {"bob@example.com"};
         c.bind();
       },
       Reason::recipient_not_permitted, "bob@example.com"},
      {"one of two recipients outside the targets",
       [](ProofCase& c) {
         c.facts.recipients = {kAlice, "mallory@evil.example"};
         c.bind();
       },
       Reason::recipient_not_permitted, "mallory@evil.example"},
      {"the grant has no targets for the action",
       [](ProofCase& c) { c.grant.targets.erase(Capability::send); },
       Reason::recipient_not_permitted},
  };
  for (const auto& row : rows) run(row);
}

TEST_CASE("proof check: the digest tells a byte-identical retry from a replay") {
  auto c = proof_case();
  auto token = c.token();
  c.proofs = std::vector<std::string>{token};
  auto first = c.check();
  auto retry = c.check();
  REQUIRE_FALSE(first.failure.has_value());
  REQUIRE_FALSE(retry.failure.has_value());
  SUBCASE("the same facts give the same digest") {
    CHECK(first.context.digest == retry.context.digest);
  }
  SUBCASE("an unsigned header added: the proof holds, the digest differs") {
    c.facts.headers.emplace_back("X-Campaign", "spring");
    auto changed = c.check();
    REQUIRE_FALSE(changed.failure.has_value());
    CHECK(changed.context.jti == first.context.jti);
    CHECK(changed.context.digest != first.context.digest);
  }
  SUBCASE("the same message with a fresh proof (new jti) has another digest") {
    c.claims["jti"] = "AAAAAAAAAAAAAAAAAAAAAA";
    c.proofs.reset();
    auto resigned = c.check();
    REQUIRE_FALSE(resigned.failure.has_value());
    CHECK(resigned.context.digest != first.context.digest);
  }
}

struct EngineProofRow {
  const char* name;
  std::function<void(ProofCase&)> change;
  std::vector<Reason> reasons;
  bool proven;  // the verdict carries the proof's task context
};

TEST_CASE("engine: a present proof is checked even when optional and reported last") {
  auto optional_proof = [](ProofCase& c) { c.settings.require_proof = false; };
  const EngineProofRow rows[] = {
      {"require_proof=false, valid proof: accepted with the task context",
       optional_proof,
       {},
       true},
      {"require_proof=true, valid proof: accepted with the task context",
       [](ProofCase&) {},
       {},
       true},
      {"require_proof=false, no proof: accepted without context",
       [=](ProofCase& c) {
         optional_proof(c);
         c.proofs = std::vector<std::string>{};
       },
       {},
       false},
      {"require_proof=true, no proof: proof_missing",
       [](ProofCase& c) { c.proofs = std::vector<std::string>{}; },
       {Reason::proof_missing},
       false},
      {"require_proof=false, the only problem an invalid proof: rejected for it",
       [=](ProofCase& c) {
         optional_proof(c);
         c.claims["aud"] = "agentgate:elsewhere";
       },
       {Reason::proof_wrong_audience},
       false},
      {"From mismatch and a bad signature: header_from_mismatch first, then the proof",
       [](ProofCase& c) {
         c.facts.from_addresses = {"ceo@example.com"};
         c.signing_key = policy::generate_ed25519().private_raw;
       },
       {Reason::header_from_mismatch, Reason::proof_bad_signature},
       false},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto c = proof_case();
      row.change(c);
      auto v = c.evaluate();
      CHECK(names(v.reasons) == names(row.reasons));
      CHECK(name(v.action) == name(row.reasons.empty() ? Action::accept : Action::reject));
      CHECK(v.sender_identity == "sales-bot");
      if (row.proven) {
        CHECK(v.grant == kGrantId);
        CHECK(v.task == kTask);
        CHECK(v.jti == "Vx3CkqD0Jm5vC8y0oZ1Tqg");
        CHECK_FALSE(v.proof_digest.empty());
        CHECK(v.proven_action == Capability::send);
        CHECK(v.proven_recipients == 1);
      } else {
        CHECK(v.grant.empty());
        CHECK(v.task.empty());
      }
    }
  }
}

}  // namespace
}  // namespace agentgate::testing
