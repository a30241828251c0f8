// The event log's hash chain (SPEC section 6): every JSON line carries event.sequence,
// agentgate.prev_hash and event.hash = SHA-256 over the canonical JSON of the record without
// event.hash. Shared by the daemon (writing) and agentgatectl (verifying).
#pragma once

#include <cstdint>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

namespace agentgate::common {

inline const std::string kEventGenesisHash(64, '0');

// Canonical text hashed for a record: sorted keys, no whitespace, event.hash left out.
std::string event_hash(const nlohmann::json& record);

struct EventChainCheck {
  bool ok = true;
  std::int64_t records = 0;
  std::int64_t first_bad_line = 0;  // 1-based; 0 when ok
  std::string problem;
  std::string head = kEventGenesisHash;
  std::int64_t last_sequence = 0;
  // > 1 when the file starts mid-chain (after log rotation): its first prev_hash must then be
  // the previous file's head, which the caller checks.
  std::int64_t first_sequence = 1;
};

EventChainCheck verify_event_stream(std::istream& in);

}  // namespace agentgate::common
