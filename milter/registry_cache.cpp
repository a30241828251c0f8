// Snapshot polling and the two lookup views.
#include "milter/registry_cache.hpp"

#include <algorithm>
#include <functional>

#include "common/timefmt.hpp"
#include "registry/store_lookup.hpp"

namespace agentgate::milter {
namespace {

using policy::Lookup;
using policy::LookupStatus;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class SnapshotView final : public policy::IdentityLookup {
 public:
  SnapshotView(std::shared_ptr<const registry::Snapshot> snap, bool fresh)
      : snap_(std::move(snap)), fresh_(fresh) {}
  Lookup by_inbox(std::string_view inbox) const override {
    const policy::Identity* id = snap_ ? snap_->by_inbox(inbox) : nullptr;
    if (!fresh_ || !snap_) return {LookupStatus::unavailable, id};
    return {id ? LookupStatus::found : LookupStatus::not_found, id};
  }
  const policy::Grant* grant(std::string_view id) const override {
    return snap_ ? snap_->grant(id) : nullptr;
  }

 private:
  std::shared_ptr<const registry::Snapshot> snap_;
  bool fresh_;
};

// Reads on demand from one store connection, held (with its mutex) for the view's lifetime.
// An outage on an identity lookup is `unavailable`; on a grant lookup the StoreError
// propagates to the adapter's exception barrier (tempfail): never read as "no such grant".
class LiveView final : public policy::IdentityLookup {
 public:
  LiveView(std::unique_lock<std::mutex> lock, registry::Store& store)
      : lock_(std::move(lock)), rows_(store) {}
  Lookup by_inbox(std::string_view inbox) const override {
    try {
      return rows_.by_inbox(inbox);
    } catch (const std::exception&) {
      return {LookupStatus::unavailable, nullptr};
    }
  }
  const policy::Grant* grant(std::string_view id) const override { return rows_.grant(id); }

 private:
  std::unique_lock<std::mutex> lock_;
  registry::StoreLookup rows_;
};

// End of message while the change feed is connected and the snapshot is current: the snapshot,
// and the store for what it does not know yet (a grant issued or an identity approved a moment
// ago on another host, whose notification is still on its way), so a change in flight is never
// a permanent refusal. The store is locked only on such a miss.
class PushedView final : public policy::IdentityLookup {
 public:
  using Open = std::function<std::unique_ptr<policy::IdentityLookup>()>;
  PushedView(std::shared_ptr<const registry::Snapshot> snap, bool fresh, Open open)
      : snap_(std::move(snap), fresh), open_(std::move(open)) {}
  Lookup by_inbox(std::string_view inbox) const override {
    auto found = snap_.by_inbox(inbox);
    if (found.status != LookupStatus::not_found) return found;
    auto* live = store();
    return live ? live->by_inbox(inbox) : Lookup{LookupStatus::unavailable, nullptr};
  }
  const policy::Grant* grant(std::string_view id) const override {
    if (const auto* g = snap_.grant(id)) return g;
    auto* live = store();
    if (!live) throw registry::StoreError("store unavailable for a grant the snapshot lacks");
    return live->grant(id);
  }

 private:
  policy::IdentityLookup* store() const {
    if (!live_) live_ = open_();
    return live_.get();
  }
  SnapshotView snap_;
  Open open_;
  mutable std::unique_ptr<policy::IdentityLookup> live_;
};

}  // namespace

RegistryCache::RegistryCache(std::string url, std::chrono::seconds max_staleness)
    : url_(std::move(url)), max_staleness_(max_staleness) {}

registry::Store& RegistryCache::open(std::unique_ptr<registry::Store>& store) {
  if (!store) {
    store = registry::open_store(url_);
    // The end-of-message connection never checkpoints (poll() does, on the control plane),
    // and never waits on the store for longer than kMailStatementLimit.
    if (&store == &eom_store_) {
      store->defer_housekeeping();
      store->limit_statements(kMailStatementLimit);
    }
  }
  return *store;
}

void RegistryCache::mark_contact() {
  last_contact_ms_.store(steady_ms());
}

bool RegistryCache::fresh() const {
  auto last = last_contact_ms_.load();
  return last != 0 && steady_ms() - last <= max_staleness_.count();
}

std::int64_t RegistryCache::age_ms() const {
  auto last = last_contact_ms_.load();
  return last == 0 ? -1 : steady_ms() - last;
}

bool RegistryCache::load(std::string* error) {
  try {
    auto& store = open(watch_store_);
    auto data = store.load_registry();
    snapshot_.store(registry::Snapshot::build(std::move(data), common::now_seconds()));
    mark_contact();
    return true;
  } catch (const std::exception& e) {
    ++store_errors_;
    watch_store_.reset();  // reconnect next time
    if (error) *error = e.what();
    return false;
  }
}

bool RegistryCache::poll(std::string* error) {
  bool current = false;
  try {
    auto& store = open(watch_store_);
    auto generation = store.generation();
    announce(generation);
    auto snap = snapshot_.load();
    current = snap && snap->generation() == generation;
    if (current) mark_contact();
  } catch (const std::exception& e) {
    ++store_errors_;
    watch_store_.reset();
    if (error) *error = e.what();
    return false;
  }
  bool ok = current || load(error);
  // Last, and never in the way of a rebuild: housekeeping that fails (a purge refused, say)
  // is counted and reported, and the snapshot is current all the same.
  try {
    // Each purge batch takes the end-of-message lock: a spend waits for one batch at most,
    // and is woken the moment it ends.
    if (watch_store_) watch_store_->housekeeping([this] { return std::unique_lock(eom_mutex_); });
  } catch (const std::exception& e) {
    ++store_errors_;
    if (error && error->empty()) *error = std::string("housekeeping: ") + e.what();
  }
  return ok;
}

std::unique_ptr<policy::IdentityLookup> RegistryCache::rcpt_view(
    std::shared_ptr<const registry::Snapshot> pinned) const {
  return std::make_unique<SnapshotView>(pinned ? std::move(pinned) : snapshot_.load(), fresh());
}

void RegistryCache::announce(std::uint64_t generation) {
  auto known = announced_.load();
  while (generation > known && !announced_.compare_exchange_weak(known, generation)) {
  }
}

std::unique_ptr<policy::IdentityLookup> RegistryCache::eom_view() {
  auto snap = snapshot_.load();
  if (pushed_.load() && snap && snap->generation() >= announced_.load())
    return std::make_unique<PushedView>(std::move(snap), fresh(), [this] { return live_view(); });
  std::unique_lock lock(eom_mutex_);
  try {
    auto& store = open(eom_store_);
    auto generation = store.generation();
    announce(generation);
    mark_contact();
    if (snap && snap->generation() == generation)
      return std::make_unique<SnapshotView>(std::move(snap), true);
    return std::make_unique<LiveView>(std::move(lock), store);
  } catch (const std::exception&) {
    ++store_errors_;
    eom_store_.reset();
    return unreachable_view();
  }
}

std::unique_ptr<policy::IdentityLookup> RegistryCache::unreachable_view() const {
  // A snapshot older than a generation already announced is known to miss a change (a
  // revocation, maybe): without the store, nothing governed is decided on it.
  auto snap = snapshot_.load();
  bool current = snap && snap->generation() >= announced_.load();
  return std::make_unique<SnapshotView>(std::move(snap), fresh() && current);
}

std::optional<RegistryCache::Tentative> RegistryCache::tentative_view() {
  auto snap = snapshot_.load();
  if (!snap || pushed_.load() || snap->generation() < announced_.load()) return std::nullopt;
  auto generation = snap->generation();
  return Tentative{std::make_unique<SnapshotView>(std::move(snap), true), generation};
}

RegistryCache::Confirmation RegistryCache::confirm(std::uint64_t generation) {
  std::lock_guard lock(eom_mutex_);
  try {
    auto current = open(eom_store_).generation();
    announce(current);
    mark_contact();
    return current == generation ? Confirmation::current : Confirmation::moved;
  } catch (const std::exception&) {
    ++store_errors_;
    eom_store_.reset();
    return Confirmation::failed;
  }
}

std::unique_ptr<policy::IdentityLookup> RegistryCache::live_view() {
  std::unique_lock lock(eom_mutex_);
  try {
    auto& store = open(eom_store_);
    return std::make_unique<LiveView>(std::move(lock), store);
  } catch (const std::exception&) {
    ++store_errors_;
    eom_store_.reset();
    return nullptr;
  }
}

}  // namespace agentgate::milter

namespace agentgate::milter {

RegistryCache::SessionCheck RegistryCache::session_checks(
    const policy::Verdict& v, const policy::MessageFacts& f, std::string* detail,
    std::optional<std::uint64_t> at_generation) {
  if (v.jti.empty()) return {};  // no proof was required or given
  std::lock_guard lock(eom_mutex_);
  try {
    auto& store = open(eom_store_);
    if (!v.in_reply_to.empty() || v.proven_action == policy::Capability::reply) {
      auto participants = store.find_received(f.mail_from, v.in_reply_to);
      bool in_thread = participants.has_value();
      for (const auto& r : f.recipients)
        if (in_thread &&
            std::find(participants->begin(), participants->end(), r) == participants->end())
          in_thread = false;
      if (!in_thread) {
        // A refusal, too, stands only on a registry still current.
        if (at_generation && store.generation() != *at_generation) return {std::nullopt, true};
        *detail = "the reply does not answer a message this inbox received from its recipients";
        return {policy::Reason::reply_not_in_thread};
      }
    }
    auto n = static_cast<std::int64_t>(f.recipients.size());
    auto spend = at_generation
                     ? store.spend_proof_at(*at_generation, v.jti, v.grant, v.proof_digest,
                                            v.proof_expires_at, n)
                     : store.spend_proof(v.jti, v.grant, v.proof_digest, v.proof_expires_at, n);
    if (at_generation) mark_contact();
    if (!spend) return {std::nullopt, true};
    switch (*spend) {
      case registry::ProofSpend::spent:
      case registry::ProofSpend::identical_retry:  // the same message again: counted once
        return {};
      case registry::ProofSpend::replayed:
        *detail = "this proof was already used for another message";
        return {policy::Reason::proof_replayed};
      case registry::ProofSpend::exhausted:
        *detail = "the grant's message or recipient quota is used up";
        return {policy::Reason::grant_exhausted};
      case registry::ProofSpend::unknown_grant:
        *detail = "the grant disappeared from the store";
        return {policy::Reason::grant_unknown};
    }
  } catch (const std::exception&) {
    ++store_errors_;
    eom_store_.reset();
    *detail = "session state unavailable";
  }
  return {policy::Reason::store_unavailable};
}

void RegistryCache::record_quarantine(const registry::QuarantineRecord& record) {
  std::lock_guard lock(eom_mutex_);
  try {
    open(eom_store_).record_quarantine(record);
  } catch (const std::exception&) {
    ++store_errors_;
    eom_store_.reset();
    throw;
  }
}

void RegistryCache::remember_received(const std::vector<std::string>& inboxes,
                                      const policy::MessageFacts& f) {
  if (inboxes.empty() || f.message_id.empty()) return;
  std::vector<std::string> participants = f.participants;
  if (!f.mail_from.empty()) participants.push_back(f.mail_from);
  std::lock_guard lock(eom_mutex_);
  try {
    auto& store = open(eom_store_);
    auto keep = common::now_seconds() + std::chrono::days(30);
    for (const auto& inbox : inboxes)
      store.record_received(inbox, f.message_id, participants, keep);
  } catch (const std::exception&) {
    ++store_errors_;
    eom_store_.reset();
    throw;
  }
}

}  // namespace agentgate::milter
