// The tamper-evident audit chain (SPEC section 3): each record's hash is SHA-256 over its
// canonical JSON form, which includes the previous record's hash. Backend-independent.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/store.hpp"

namespace agentgate::registry {

inline const std::string kGenesisHash(64, '0');

struct AuditEntry {
  std::string actor;
  std::string os_user;
  std::string action;
  std::string subject;
  nlohmann::json details = nlohmann::json::object();
};

// Canonical form: a JSON object with sorted keys, no whitespace, details embedded as an object.
std::string canonical_audit_json(const AuditRecord& record);
std::string audit_hash(const AuditRecord& record);

// Appends an entry after the chain's current head, inside the caller's transaction.
AuditRecord append_audit(StoreTx& tx, const AuditEntry& entry);

struct ChainCheck {
  bool ok = true;
  std::int64_t records = 0;
  std::int64_t first_bad_seq = 0;  // 0 when ok
  std::string problem;
};

// Walks records in seq order: contiguous sequence numbers, prev_hash links and recomputed hashes.
ChainCheck verify_audit_chain(const std::vector<AuditRecord>& records);

}  // namespace agentgate::registry
