#include "registry/store_lookup.hpp"

namespace agentgate::registry {

policy::Lookup StoreLookup::by_inbox(std::string_view inbox) const {
  auto it = rows_.find(inbox);
  if (it == rows_.end()) {
    std::optional<policy::Identity> row;
    store_.read([&](StoreTx& tx) { row = tx.find_by_inbox(inbox); });
    it = rows_.emplace(std::string(inbox), std::move(row)).first;
  }
  if (!it->second) return {policy::LookupStatus::not_found, nullptr};
  return {policy::LookupStatus::found, &*it->second};
}

const policy::Grant* StoreLookup::grant(std::string_view id) const {
  auto it = grants_.find(id);
  if (it == grants_.end()) {
    std::optional<policy::Grant> row;
    store_.read([&](StoreTx& tx) { row = tx.find_grant(id); });
    it = grants_.emplace(std::string(id), std::move(row)).first;
  }
  return it->second ? &*it->second : nullptr;
}

}  // namespace agentgate::registry
