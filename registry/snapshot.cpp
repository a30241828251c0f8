// Snapshot construction. Index keys are string_views into the identities vector, so the vector
// is filled first and never touched again.
#include "registry/snapshot.hpp"

namespace agentgate::registry {

std::shared_ptr<const Snapshot> Snapshot::build(RegistryData data, policy::Time built_at) {
  auto s = std::make_shared<Snapshot>();
  s->generation_ = data.generation;
  s->built_at_ = built_at;
  s->identities_ = std::move(data.identities);
  s->grants_ = std::move(data.grants);
  s->grants_by_id_.reserve(s->grants_.size());
  for (std::uint32_t i = 0; i < s->grants_.size(); ++i)
    s->grants_by_id_.upsert(s->grants_[i].id, i);
  const auto& ids = s->identities_;
  s->by_id_.reserve(ids.size());
  s->by_inbox_.reserve(ids.size());
  s->by_principal_.reserve(ids.size());
  for (std::uint32_t i = 0; i < ids.size(); ++i) {
    const auto& identity = ids[i];
    bool live = !policy::is_terminal(identity.status);
    s->by_id_.upsert(identity.id, i);
    auto& slot = s->by_inbox_.upsert(identity.inbox, i);
    if (slot != i) {
      const auto& held = ids[slot];
      bool held_live = !policy::is_terminal(held.status);
      if ((live && !held_live) || (live == held_live && identity.updated_at > held.updated_at))
        slot = i;
    }
    if (live)
      for (const auto& p : identity.principals) s->by_principal_.upsert(p, i);
  }
  return s;
}

const policy::Identity* Snapshot::find(const FlatIndex& index, std::string_view key) const {
  auto i = index.find(key);
  return i == FlatIndex::kNone ? nullptr : &identities_[i];
}

const policy::Identity* Snapshot::by_id(std::string_view id) const {
  return find(by_id_, id);
}
const policy::Identity* Snapshot::by_inbox(std::string_view inbox) const {
  return find(by_inbox_, inbox);
}
const policy::Grant* Snapshot::grant(std::string_view id) const {
  auto i = grants_by_id_.find(id);
  return i == FlatIndex::kNone ? nullptr : &grants_[i];
}

const policy::Identity* Snapshot::by_principal(std::string_view principal) const {
  return find(by_principal_, principal);
}

}  // namespace agentgate::registry
