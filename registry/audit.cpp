// Audit chain construction and verification.
#include "registry/audit.hpp"

#include <chrono>

#include <fmt/format.h>

#include "common/timefmt.hpp"
#include "policy/digest.hpp"

namespace agentgate::registry {

std::string canonical_audit_json(const AuditRecord& r) {
  nlohmann::json details;
  try {
    details = nlohmann::json::parse(r.details);
  } catch (const nlohmann::json::exception&) {
    details = r.details;  // a damaged details column still hashes, and then fails to match
  }
  nlohmann::json j = {{"seq", r.seq},       {"at", r.at},
                      {"actor", r.actor},   {"os_user", r.os_user},
                      {"action", r.action}, {"subject", r.subject},
                      {"details", details}, {"prev_hash", r.prev_hash}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string audit_hash(const AuditRecord& r) {
  return policy::sha256_hex(canonical_audit_json(r));
}

AuditRecord append_audit(StoreTx& tx, const AuditEntry& e) {
  auto last = tx.last_audit();
  AuditRecord r;
  r.seq = last ? last->seq + 1 : 1;
  r.at = common::format_iso8601_ms(std::chrono::system_clock::now());
  r.actor = e.actor;
  r.os_user = e.os_user;
  r.action = e.action;
  r.subject = e.subject;
  r.details = e.details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.prev_hash = last ? last->hash : kGenesisHash;
  r.hash = audit_hash(r);
  tx.insert_audit(r);
  return r;
}

ChainCheck verify_audit_chain(const std::vector<AuditRecord>& records) {
  ChainCheck c;
  std::string prev = kGenesisHash;
  std::int64_t expected_seq = 1;
  for (const auto& r : records) {
    auto bad = [&](std::string why) {
      c.ok = false;
      c.first_bad_seq = r.seq;
      c.problem = std::move(why);
      return c;
    };
    if (r.seq != expected_seq)
      return bad(fmt::format("sequence gap: expected record {}, found {}", expected_seq, r.seq));
    if (r.prev_hash != prev)
      return bad(fmt::format("prev_hash does not link to record {}", r.seq - 1));
    if (audit_hash(r) != r.hash) return bad("hash does not match the record's contents");
    prev = r.hash;
    ++expected_seq;
    ++c.records;
  }
  return c;
}

}  // namespace agentgate::registry
