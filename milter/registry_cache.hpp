// The daemon's view of the registry. A watcher thread polls the store's generation and swaps in
// a freshly built Snapshot when it moves; mail threads read the current snapshot without locks.
// At end of message, the generation is checked once more (before evaluating, eom_view(), or
// after it, tentative_view(), in the same transaction that spends the proof) and, if the
// snapshot lags, the identities it needs are read straight from the store, so a revocation
// committed a moment ago is already in force. When the store cannot be read and the last contact is
// older than max_staleness, lookups report `unavailable` and governed mail tempfails.
//
// With a store that pushes its changes (PostgreSQL NOTIFY; registry/change_feed.hpp), the
// control plane announces each new generation as it arrives, and eom_view() compares the
// snapshot with the newest announced generation instead of asking the store on every message:
// a shared store is a network round trip away. A snapshot still being rebuilt is never trusted
// past a generation already announced: those messages read the store directly.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "policy/engine.hpp"
#include "registry/snapshot.hpp"
#include "registry/store.hpp"

namespace agentgate::milter {

class RegistryCache {
 public:
  // How long one store statement on the mail path may take before the message tempfails
  // (store_unavailable): the event loop serving it serves other connections too.
  static constexpr std::chrono::milliseconds kMailStatementLimit{5000};

  RegistryCache(std::string url, std::chrono::seconds max_staleness);

  // Loads the first snapshot; false (with `error` set) if the store could not be read.
  bool load(std::string* error);
  // One watcher step: rebuilds the snapshot if the generation moved, then housekeeping. True
  // when the snapshot is current with the store. Throws nothing.
  bool poll(std::string* error);
  // The change feed: a generation the store announced, and whether the feed is connected.
  // While it is, end of message trusts announcements instead of reading the generation.
  void announce(std::uint64_t generation);
  void set_pushed(bool connected) { pushed_.store(connected); }
  bool pushed() const { return pushed_.load(); }
  // Change notifications received from the feed (for status and metrics).
  void count_notification() { notifications_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t notifications() const { return notifications_.load(std::memory_order_relaxed); }
  const std::string& url() const { return url_; }

  std::shared_ptr<const registry::Snapshot> snapshot() const { return snapshot_.load(); }
  bool fresh() const;
  // Milliseconds since the store last answered (for status and metrics).
  std::int64_t age_ms() const;
  // Failed store reads and writes since start (for status and metrics).
  std::uint64_t store_errors() const { return store_errors_.load(std::memory_order_relaxed); }

  // RCPT-stage lookups: the snapshot the transaction pinned at MAIL (or the current one).
  std::unique_ptr<policy::IdentityLookup> rcpt_view(
      std::shared_ptr<const registry::Snapshot> pinned = nullptr) const;
  // EOM-stage lookups: the snapshot, or the store itself when the snapshot lags behind it.
  std::unique_ptr<policy::IdentityLookup> eom_view();
  // EOM-stage lookups to be confirmed afterwards, without a change feed: the current snapshot
  // and its generation, which the caller confirms (confirm(), or session_checks() with it)
  // before acting on a verdict reached with it; if the registry moved, it evaluates again with
  // eom_view(). Nullopt when eom_view() answers without the store anyway (a connected feed) or
  // the snapshot is already known to lag.
  struct Tentative {
    std::unique_ptr<policy::IdentityLookup> view;
    std::uint64_t generation = 0;
  };
  std::optional<Tentative> tentative_view();
  // Whether the store is still at `generation`. `failed`: it could not answer, and the message
  // gets no second attempt (unreachable_view()), as with any store error at end of message.
  enum class Confirmation { current, moved, failed };
  Confirmation confirm(std::uint64_t generation);
  // After a store error at end of message: the snapshot, trusted only while it is fresh and not
  // known to lag an announced generation; otherwise every lookup is `unavailable`.
  std::unique_ptr<policy::IdentityLookup> unreachable_view() const;

  // The stateful proof checks, after the pure ones passed (SPEC section 4), in this order:
  // thread ledger for replies, replay (same jti, other message), then the grant's quotas, so a
  // refused message never consumes quota. `refusal` is the refusing reason, or nullopt to
  // accept; store_unavailable when the store cannot answer. With `at_generation`, the spend
  // happens only if the registry is still there; otherwise `moved` is set and nothing is spent.
  struct SessionCheck {
    std::optional<policy::Reason> refusal;
    bool moved = false;
  };
  SessionCheck session_checks(const policy::Verdict& verdict, const policy::MessageFacts& facts,
                              std::string* detail,
                              std::optional<std::uint64_t> at_generation = std::nullopt);
  // Adds a quarantine decision to the store's quarantine index. Throws on a store error.
  void record_quarantine(const registry::QuarantineRecord& record);
  // Records an accepted message in the conversation ledger of each agent inbox it reached.
  void remember_received(const std::vector<std::string>& inboxes,
                         const policy::MessageFacts& facts);

 private:
  void mark_contact();
  // The store itself, locked for the view's lifetime; nullptr when it cannot be opened.
  std::unique_ptr<policy::IdentityLookup> live_view();
  registry::Store& open(std::unique_ptr<registry::Store>& store);

  std::string url_;
  std::chrono::milliseconds max_staleness_;
  std::atomic<std::shared_ptr<const registry::Snapshot>> snapshot_;
  std::atomic<std::int64_t> last_contact_ms_{0};  // steady clock; 0 = never
  std::atomic<std::uint64_t> store_errors_{0};
  std::atomic<std::uint64_t> announced_{0};  // newest generation the store is known to have
  std::atomic<bool> pushed_{false};
  std::atomic<std::uint64_t> notifications_{0};

  std::unique_ptr<registry::Store> watch_store_;  // watcher thread only
  std::mutex eom_mutex_;                          // guards eom_store_: one SQLite connection
  std::unique_ptr<registry::Store> eom_store_;
};

}  // namespace agentgate::milter
