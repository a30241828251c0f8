// Reason codes and actions are a public interface (SPEC section 5): these tests pin the names
// and the default action of every code, so a rename or a silent default change fails here.
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "policy/reason.hpp"

namespace agentgate::policy {
namespace {

TEST_CASE("reason: every code pinned by SPEC section 5 exists under its exact name") {
  const char* pinned[] = {"unknown_agent_sender",
                          "identity_pending",
                          "identity_suspended",
                          "identity_revoked",
                          "identity_expired",
                          "principal_mismatch",
                          "header_from_mismatch",
                          "proof_missing",
                          "proof_malformed",
                          "proof_bad_signature",
                          "proof_expired",
                          "proof_not_yet_valid",
                          "proof_wrong_audience",
                          "proof_binding_mismatch",
                          "proof_replayed",
                          "grant_unknown",
                          "grant_revoked",
                          "grant_expired",
                          "grant_exhausted",
                          "task_mismatch",
                          "action_not_permitted",
                          "recipient_not_permitted",
                          "reply_not_in_thread",
                          "inbox_inactive",
                          "inbox_receive_not_permitted",
                          "sender_not_trusted",
                          "store_unavailable"};
  for (const char* name : pinned) {
    SUBCASE(name) {
      auto r = parse_reason(name);
      REQUIRE(r.has_value());
      CHECK(to_string(*r) == name);
    }
  }
}

TEST_CASE("reason: names are unique and round-trip; unknown names are refused") {
  std::set<std::string_view> seen(kReasonNames.begin(), kReasonNames.end());
  CHECK(seen.size() == kReasonNames.size());
  for (size_t i = 0; i < kReasonNames.size(); ++i) {
    auto r = static_cast<Reason>(i);
    CAPTURE(kReasonNames[i]);
    CHECK(parse_reason(to_string(r)) == r);
  }
  CHECK_FALSE(parse_reason("").has_value());
  CHECK_FALSE(parse_reason("Proof_Missing").has_value());
  CHECK_FALSE(parse_reason("proof_missing ").has_value());
}

TEST_CASE("reason: default actions follow SPEC section 5") {
  struct Row {
    Reason reason;
    Action action;
  };
  const Row rows[] = {
      {Reason::unknown_agent_sender, Action::reject},
      {Reason::identity_revoked, Action::reject},
      {Reason::identity_expired, Action::reject},
      {Reason::proof_missing, Action::reject},
      {Reason::proof_bad_signature, Action::reject},
      {Reason::grant_exhausted, Action::reject},
      {Reason::recipient_not_permitted, Action::reject},
      {Reason::sender_not_trusted, Action::quarantine},
      {Reason::store_unavailable, Action::tempfail},
      {Reason::internal_error, Action::tempfail},
  };
  for (const auto& row : rows) {
    SUBCASE(std::string(to_string(row.reason)).c_str()) {
      CHECK(default_action(row.reason) == row.action);
    }
  }
}

TEST_CASE("reason: action names round-trip and are ordered by severity") {
  for (auto a : {Action::accept, Action::quarantine, Action::tempfail, Action::reject}) {
    SUBCASE(std::string(to_string(a)).c_str()) {
      CHECK(parse_action(to_string(a)) == a);
    }
  }
  CHECK(Action::accept < Action::quarantine);
  CHECK(Action::quarantine < Action::tempfail);
  CHECK(Action::tempfail < Action::reject);
  CHECK_FALSE(parse_action("drop").has_value());
  CHECK_FALSE(parse_action("Reject").has_value());
}

}  // namespace
}  // namespace agentgate::policy
