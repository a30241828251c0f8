// Decoding of identity, grant, audit and quarantine rows, shared by every SQL backend so that they
// cannot drift apart: the column lists name the order, and a Row is anything with text(col),
// integer(col) and is_null(col). A column that cannot be decoded is a StoreError, never a default.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "policy/digest.hpp"
#include "policy/grant.hpp"
#include "policy/identity.hpp"
#include "registry/codec.hpp"
#include "registry/quarantine.hpp"
#include "registry/store.hpp"

namespace agentgate::registry {

inline constexpr const char* kIdentityColumns =
    "id, inbox, status, purpose, business_owner, system_owner, requester, ig_reviewer, actions, "
    "principals, targets, accept_from, grant_issuers, expires_at, revocation_trigger, "
    "credential_type, created_at, updated_at, round, renewal_expires_at, status_reason";

inline constexpr const char* kGrantColumns =
    "id, identity_id, task_id, purpose, actions, targets, public_key, issued_by, issued_at, "
    "expires_at, max_messages, max_recipients, revoked, revoked_at, revoked_by, revoke_reason, "
    "messages_used, recipients_used";

inline constexpr const char* kQuarantineColumns =
    "mta_host, queue_id, at, identity, grant_id, task, mail_from, recipients, header_from, "
    "subject, message_id, reasons, event_id, context, status, acted_by, justification, acted_at";

inline constexpr const char* kAuditColumns =
    "seq, at, actor, os_user, action, subject, details, prev_hash, hash";

template <typename Row>
policy::Identity read_identity(const Row& s) {
  policy::Identity i;
  i.id = s.text(0);
  i.inbox = s.text(1);
  auto status = policy::parse_status(s.text(2));
  if (!status)
    throw StoreError(fmt::format("corrupt status '{}' for identity {}", s.text(2), i.id));
  i.status = *status;
  i.purpose = s.text(3);
  i.business_owner = s.text(4);
  i.system_owner = s.text(5);
  i.requester = s.text(6);
  i.ig_reviewer = s.text(7);
  i.actions = policy::CapabilitySet::from_bits(static_cast<std::uint8_t>(s.integer(8)));
  i.principals = split_lines(s.text(9));
  i.targets = decode_targets(s.text(10));
  i.accept_from = split_lines(s.text(11));
  i.grant_issuers = split_lines(s.text(12));
  i.expires_at = from_secs(s.integer(13));
  i.revocation_trigger = s.text(14);
  i.credential_type = s.text(15);
  i.created_at = from_secs(s.integer(16));
  i.updated_at = from_secs(s.integer(17));
  i.round = static_cast<int>(s.integer(18));
  if (!s.is_null(19)) i.renewal_expires_at = from_secs(s.integer(19));
  i.status_reason = s.text(20);
  return i;
}

template <typename Row>
policy::Grant read_grant(const Row& s) {
  policy::Grant g;
  g.id = s.text(0);
  g.identity_id = s.text(1);
  g.task_id = s.text(2);
  g.purpose = s.text(3);
  g.actions = policy::CapabilitySet::from_bits(static_cast<std::uint8_t>(s.integer(4)));
  g.targets = decode_targets(s.text(5));
  auto key = policy::base64url_decode(s.text(6));
  if (!key) throw StoreError("corrupt public key for grant " + g.id);
  g.public_key = *key;
  g.issued_by = s.text(7);
  g.issued_at = from_secs(s.integer(8));
  g.expires_at = from_secs(s.integer(9));
  if (!s.is_null(10)) g.max_messages = s.integer(10);
  if (!s.is_null(11)) g.max_recipients = s.integer(11);
  g.revoked = s.integer(12) != 0;
  g.revoked_at = from_secs(s.integer(13));
  g.revoked_by = s.text(14);
  g.revoke_reason = s.text(15);
  g.messages_used = s.integer(16);
  g.recipients_used = s.integer(17);
  return g;
}

template <typename Row>
AuditRecord read_audit(const Row& s) {
  return {s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4),
          s.text(5),    s.text(6), s.text(7), s.text(8)};
}

template <typename Row>
QuarantineRecord read_quarantine(const Row& s) {
  QuarantineRecord r;
  r.mta_host = s.text(0);
  r.queue_id = s.text(1);
  r.at = from_secs(s.integer(2));
  r.identity = s.text(3);
  r.grant = s.text(4);
  r.task = s.text(5);
  r.mail_from = s.text(6);
  r.recipients = split_lines(s.text(7));
  r.header_from = s.text(8);
  r.subject = s.text(9);
  r.message_id = s.text(10);
  r.reasons = split_lines(s.text(11));
  r.event_id = s.text(12);
  r.context = s.text(13);
  r.status = s.text(14);
  r.acted_by = s.text(15);
  r.justification = s.text(16);
  r.acted_at = from_secs(s.integer(17));
  return r;
}

// The list-valued filters (a reason, a recipient), applied to rows the SQL filters selected.
inline bool quarantine_lists_match(const QuarantineRecord& r, const QuarantineFilter& f) {
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return x.empty() || std::find(v.begin(), v.end(), x) != v.end();
  };
  return has(r.reasons, f.reason) && has(r.recipients, f.recipient);
}

}  // namespace agentgate::registry
