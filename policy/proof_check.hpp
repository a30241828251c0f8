// Verification of the per-message Agent-Proof (SPEC section 4) against the facts the gateway saw
// itself. Pure: the token, the message facts, the registry view and the settings in; the first
// failed check (with its reason code) or the proven task context out. The stateful checks
// (quotas, replay, thread ledger) need the store and are the adapter's, after this succeeds.
#pragma once

#include <optional>
#include <string>

#include "policy/engine.hpp"
#include "policy/grant.hpp"
#include "policy/message.hpp"
#include "policy/settings.hpp"
#include "policy/trace.hpp"

namespace agentgate::policy {

struct ProofFailure {
  Reason reason;
  std::string detail;
};

struct ProvenContext {
  std::string grant_id;
  std::string task_id;
  Capability action = Capability::send;
  std::string in_reply_to;
  std::string jti;
  std::string digest;  // binds jti to this exact message: a byte-identical retry has the same
  Time expires_at{};
};

struct ProofCheck {
  std::optional<ProofFailure> failure;
  ProvenContext context;  // valid when !failure
};

// Every check of SPEC section 4 except quotas, replay and the thread ledger, in this order:
// one header, well-formed token, grant (known, the sender's, unrevoked, unexpired), signature,
// audience, time window, envelope/header/body bindings, task, action, recipients.
// With a trace, every check run is recorded in it (see trace.hpp).
ProofCheck check_proof(const MessageFacts& facts, const Identity& sender,
                       const IdentityLookup& registry, const PolicySettings& settings,
                       Trace* trace = nullptr);

}  // namespace agentgate::policy
