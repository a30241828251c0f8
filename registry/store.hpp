// The Store interface: everything the registry persists, behind calls that any transactional
// SQL engine can implement. Backends: SQLite (sqlite:///path) now, PostgreSQL later. Callers see
// no engine-specific semantics: every write runs in one transaction that also bumps the registry
// generation, which readers poll to learn that something changed.
//
// A Store object is used from one thread at a time; the daemon gives its control thread its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy/grant.hpp"
#include "policy/identity.hpp"
#include "registry/quarantine.hpp"

namespace agentgate::registry {

// The store cannot be reached, is locked past the timeout, or holds data it cannot read.
// Never a "not found": callers turn it into exit status 3 or a tempfail.
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct AuditRecord {
  std::int64_t seq = 0;
  std::string at;       // ISO 8601 with milliseconds, UTC
  std::string actor;    // --actor
  std::string os_user;  // the OS user who ran the command
  std::string action;   // e.g. "identity.approve"
  std::string subject;  // e.g. the identity id
  std::string details;  // canonical JSON object text
  std::string prev_hash;
  std::string hash;
};

// Operations available inside a transaction.
class StoreTx {
 public:
  virtual ~StoreTx() = default;
  virtual std::optional<policy::Identity> find_identity(std::string_view id) = 0;
  // The non-terminal identity owning this normalised inbox, if any.
  virtual std::optional<policy::Identity> find_live_by_inbox(std::string_view inbox) = 0;
  // The identity owning this normalised inbox: the live one if any, else the latest terminal one.
  virtual std::optional<policy::Identity> find_by_inbox(std::string_view inbox) = 0;
  // Is this an identity id, an inbox, or a principal (with or without kind prefix) of any identity?
  virtual bool is_agent_name(std::string_view name) = 0;
  // The id of the non-terminal identity bound to this principal, if any.
  virtual std::optional<std::string> live_identity_for_principal(std::string_view principal) = 0;
  virtual void put_identity(const policy::Identity& identity) = 0;  // insert or replace
  virtual std::optional<policy::Grant> find_grant(std::string_view id) = 0;
  virtual void insert_grant(const policy::Grant& grant) = 0;
  virtual void mark_grant_revoked(const policy::Grant& revoked) = 0;
  virtual std::optional<AuditRecord> last_audit() = 0;
  virtual void insert_audit(const AuditRecord& record) = 0;
  // Marks a quarantined message released or deleted by an analyst; false when unknown.
  virtual bool set_quarantine_status(std::string_view host, std::string_view queue_id,
                                     std::string_view status, std::string_view actor,
                                     std::string_view justification, policy::Time at) = 0;
};

struct RegistryData {
  std::uint64_t generation = 0;
  std::vector<policy::Identity> identities;
  std::vector<policy::Grant> grants;  // unexpired ones, plus those expired within a day
};

// Per-message session state (SPEC section 4). These writes are atomic single statements that
// do not bump the registry generation: they change counters, not governance.
enum class ProofSpend { spent, identical_retry, replayed, exhausted, unknown_grant };

struct IdentityFilter {
  std::optional<policy::Status> stored_status;  // coarse pre-filter; callers apply effective status
  std::optional<policy::Time> expires_before;
};

class Store {
 public:
  virtual ~Store() = default;
  // Applies pending schema migrations; idempotent. Returns the number applied.
  virtual int migrate() = 0;
  // 0 when the store was never initialised.
  virtual int schema_version() = 0;
  virtual std::uint64_t generation() = 0;
  // Housekeeping kept off the mail path: a connection that serves messages stops doing it
  // itself (defer_housekeeping), another runs it on a timer (housekeeping): purging expired
  // session state (replay records, ledger rows) at most once a minute, and on SQLite a WAL
  // checkpoint, which fsyncs. SQLite purges in short batches, each a write transaction; `gate`,
  // when given, is held for each one, so a process that also writes mail-path state can make
  // its writers wait their turn on it rather than in SQLite's busy handler, which sleeps at
  // least a millisecond. A failed purge is retried a minute later; the checkpoint runs anyway.
  using BatchGate = std::function<std::unique_lock<std::mutex>()>;
  virtual void defer_housekeeping() {}
  virtual void housekeeping(const BatchGate& gate = {}) { (void)gate; }
  // Statements on this connection give up after `limit` (a lock held elsewhere, a server that
  // stalls with the connection open) with a StoreError instead of waiting: the mail path's
  // connection sets it, so a message tempfails rather than holding its event loop. PostgreSQL:
  // statement_timeout. SQLite's waits are already bounded by its 5 s busy timeout.
  virtual void limit_statements(std::chrono::milliseconds limit) { (void)limit; }
  // Runs fn in one write transaction. Commits, bumping the generation, iff fn returns normally;
  // any exception rolls everything back and propagates.
  virtual void write(const std::function<void(StoreTx&)>& fn) = 0;
  // Runs fn in one read-only transaction (a consistent view).
  virtual void read(const std::function<void(StoreTx&)>& fn) = 0;
  // Everything a Snapshot needs, read consistently, without approval history.
  virtual RegistryData load_registry() = 0;
  virtual std::vector<policy::Identity> list_identities(const IdentityFilter& filter) = 0;
  virtual std::vector<AuditRecord> audit_records(std::int64_t from_seq) = 0;
  virtual std::vector<policy::Grant> list_grants(std::string_view identity_id) = 0;  // "" = all

  // Spends a proof on one message, atomically (one transaction, so two gateways can never both
  // take the last message): a jti seen with the same message digest is an identical retry
  // (accepted, nothing counted again); with another digest it is a replay; otherwise the
  // grant's quotas are charged for one message and `recipients` recipients and, only if they
  // allow it, the jti is remembered until `expires_at`.
  virtual ProofSpend spend_proof(std::string_view jti, std::string_view grant_id,
                                 std::string_view digest, policy::Time expires_at,
                                 std::int64_t recipients) = 0;
  // spend_proof, only while the registry is still at `generation`: nullopt, with nothing spent,
  // once it moved on. End of message decides on a snapshot first and confirms it here, so a
  // governed message costs the store one transaction instead of a read and then a transaction.
  // SQLite checks inside the spend's own transaction; this default (a read, then the spend) is
  // what a store with a change feed uses on the rare message its feed cannot vouch for.
  virtual std::optional<ProofSpend> spend_proof_at(std::uint64_t generation, std::string_view jti,
                                                   std::string_view grant_id,
                                                   std::string_view digest, policy::Time expires_at,
                                                   std::int64_t recipients) {
    if (this->generation() != generation) return std::nullopt;
    return spend_proof(jti, grant_id, digest, expires_at, recipients);
  }
  // Read-only view of the replay cache, for `explain`: the digest of the message this jti was
  // spent on, if it was.
  virtual std::optional<std::string> spent_digest(std::string_view jti) = 0;
  // The conversation ledger: messages an agent inbox received, with their participants.
  virtual void record_received(std::string_view inbox, std::string_view message_id,
                               const std::vector<std::string>& participants,
                               policy::Time expires_at) = 0;
  virtual std::optional<std::vector<std::string>> find_received(std::string_view inbox,
                                                                std::string_view message_id) = 0;
  // The quarantine index: written by the gateway at each quarantine decision (one row per
  // host and queue id), read by the SOC commands, newest first.
  virtual void record_quarantine(const QuarantineRecord& record) = 0;
  virtual std::vector<QuarantineRecord> list_quarantine(const QuarantineFilter& filter) = 0;
};

// Opens the store a URL names: sqlite:///abs/path or postgresql://...
// Throws StoreError for an unreachable store and std::invalid_argument for a bad URL.
// With create=false a missing database is a StoreError ("run agentgatectl init").
std::unique_ptr<Store> open_store(const std::string& url, bool create = false);

// The URL with any password replaced by ***: what logs, status and audit records may show.
std::string redact_store_url(const std::string& url);

}  // namespace agentgate::registry
