// Reason codes and actions: the stable vocabulary of every decision (SPEC section 5).
// Names are a public interface read by SIEM pipelines: add codes, never rename one.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace agentgate::policy {

enum class Reason {
  unknown_agent_sender,
  identity_pending,
  identity_suspended,
  identity_revoked,
  identity_expired,
  principal_mismatch,
  header_from_mismatch,
  proof_missing,
  proof_malformed,
  proof_bad_signature,
  proof_expired,
  proof_not_yet_valid,
  proof_wrong_audience,
  proof_binding_mismatch,
  proof_replayed,
  grant_unknown,
  grant_revoked,
  grant_expired,
  grant_exhausted,
  task_mismatch,
  action_not_permitted,
  recipient_not_permitted,
  reply_not_in_thread,
  inbox_inactive,
  inbox_receive_not_permitted,
  sender_not_trusted,
  store_unavailable,
  // Added by agentgate beyond the SPEC's initial list (never renamed, only appended):
  internal_error,           // agentgate could not decide (tempfail)
  identity_rejected,        // the sender's identity request was rejected: it never existed
  unknown_agent_recipient,  // a mailbox in an agent domain that is not a registered identity
};

inline constexpr std::array<std::string_view, 30> kReasonNames = {
    "unknown_agent_sender",
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
    "store_unavailable",
    "internal_error",
    "identity_rejected",
    "unknown_agent_recipient",
};

constexpr std::string_view to_string(Reason r) {
  return kReasonNames[static_cast<size_t>(r)];
}
std::optional<Reason> parse_reason(std::string_view name);

// What the MTA is told to do. Ordered by severity: a verdict takes the most severe action of
// its reasons (reject > tempfail > quarantine > accept).
enum class Action { accept, quarantine, tempfail, reject };

constexpr std::string_view to_string(Action a) {
  constexpr std::array<std::string_view, 4> names = {"accept", "quarantine", "tempfail", "reject"};
  return names[static_cast<size_t>(a)];
}
std::optional<Action> parse_action(std::string_view name);

// The action a reason maps to when the config says nothing about it.
Action default_action(Reason r);

}  // namespace agentgate::policy
