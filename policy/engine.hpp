// The decision engine: MessageFacts and a registry view in, Verdict out. Pure and const: no
// I/O, no clock reads, no logging, no exceptions on the decision path. The adapter calls
// check_recipient at RCPT (per-recipient problems) and evaluate at end of message (everything,
// with identity state re-read).
#pragma once

#include <string_view>

#include "policy/grant.hpp"
#include "policy/message.hpp"
#include "policy/settings.hpp"
#include "policy/trace.hpp"

namespace agentgate::policy {

// Registry lookups are tri-state: an outage is never read as "not found".
enum class LookupStatus { found, not_found, unavailable };
struct Lookup {
  LookupStatus status = LookupStatus::not_found;
  // For `unavailable`, the last known (stale) record if any: it still tells whether an address
  // is governed at all, never whether it may send.
  const Identity* identity = nullptr;
};

class IdentityLookup {
 public:
  virtual ~IdentityLookup() = default;
  virtual Lookup by_inbox(std::string_view normalized_inbox) const = 0;
  // The grant with this id as of the view, or nullptr.
  virtual const Grant* grant(std::string_view id) const = 0;
};

struct RecipientCheck {
  Action action = Action::accept;  // the action of `reason` (accept when none)
  std::optional<Reason> reason;
  std::string identity;    // the agent identity involved (sender or recipient)
  unsigned direction = 0;  // kOutbound: a problem of the agent sender; kInbound: of the inbox
  std::string detail;
};

// RCPT stage: may this recipient be accepted for this sender? Covers the outbound target check
// (against every action the sender may take; the exact action is known only at EOM) and the
// inbound inbox checks.
RecipientCheck check_recipient(const MessageFacts& facts, std::string_view recipient,
                               const IdentityLookup& registry, const PolicySettings& settings);

// End of message: the whole decision. With a trace, every check run is recorded in it.
Verdict evaluate(const MessageFacts& facts, const IdentityLookup& registry,
                 const PolicySettings& settings, Trace* trace = nullptr);

}  // namespace agentgate::policy
