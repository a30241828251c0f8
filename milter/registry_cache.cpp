// Snapshot polling and the two lookup views.
#include "milter/registry_cache.hpp"

#include <map>

#include "common/timefmt.hpp"

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

 private:
  std::shared_ptr<const registry::Snapshot> snap_;
  bool fresh_;
};

// Reads on demand from one store connection held for the view's lifetime.
class LiveView final : public policy::IdentityLookup {
 public:
  LiveView(std::unique_lock<std::mutex> lock, registry::Store& store)
      : lock_(std::move(lock)), store_(store) {}
  Lookup by_inbox(std::string_view inbox) const override {
    auto it = rows_.find(inbox);
    if (it == rows_.end()) {
      std::optional<policy::Identity> row;
      try {
        store_.read([&](registry::StoreTx& tx) { row = tx.find_by_inbox(inbox); });
      } catch (const std::exception&) {
        return {LookupStatus::unavailable, nullptr};
      }
      it = rows_.emplace(std::string(inbox), std::move(row)).first;
    }
    if (!it->second) return {LookupStatus::not_found, nullptr};
    return {LookupStatus::found, &*it->second};
  }

 private:
  std::unique_lock<std::mutex> lock_;
  registry::Store& store_;
  mutable std::map<std::string, std::optional<policy::Identity>, std::less<>> rows_;
};

}  // namespace

RegistryCache::RegistryCache(std::string url, std::chrono::seconds max_staleness)
    : url_(std::move(url)), max_staleness_(max_staleness) {}

registry::Store& RegistryCache::open(std::unique_ptr<registry::Store>& store) {
  if (!store) store = registry::open_store(url_);
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
    watch_store_.reset();  // reconnect next time
    if (error) *error = e.what();
    return false;
  }
}

void RegistryCache::poll(std::string* error) {
  try {
    auto& store = open(watch_store_);
    auto generation = store.generation();
    auto current = snapshot_.load();
    if (current && current->generation() == generation) {
      mark_contact();
      return;
    }
  } catch (const std::exception& e) {
    watch_store_.reset();
    if (error) *error = e.what();
    return;
  }
  load(error);
}

std::unique_ptr<policy::IdentityLookup> RegistryCache::rcpt_view() const {
  return std::make_unique<SnapshotView>(snapshot_.load(), fresh());
}

std::unique_ptr<policy::IdentityLookup> RegistryCache::eom_view() {
  auto snap = snapshot_.load();
  std::unique_lock lock(eom_mutex_);
  try {
    auto& store = open(eom_store_);
    auto generation = store.generation();
    mark_contact();
    if (snap && snap->generation() == generation)
      return std::make_unique<SnapshotView>(std::move(snap), true);
    return std::make_unique<LiveView>(std::move(lock), store);
  } catch (const std::exception&) {
    eom_store_.reset();
    return std::make_unique<SnapshotView>(std::move(snap), fresh());
  }
}

}  // namespace agentgate::milter
