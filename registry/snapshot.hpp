// An immutable, indexed view of the registry at one generation. Built off the mail path and
// published as std::shared_ptr<const Snapshot>; readers never lock and never see a partial
// update. Lookups are O(1) hash probes whatever the registry's size.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "policy/address.hpp"
#include "policy/identity.hpp"
#include "registry/flat_index.hpp"
#include "registry/store.hpp"

namespace agentgate::registry {

class Snapshot {
 public:
  static std::shared_ptr<const Snapshot> build(RegistryData data, policy::Time built_at);
  Snapshot() = default;
  // Indexes point into identities_: a copy would point into the original.
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  std::uint64_t generation() const { return generation_; }
  policy::Time built_at() const { return built_at_; }
  size_t size() const { return identities_.size(); }
  const std::vector<policy::Identity>& identities() const { return identities_; }
  const std::vector<policy::Grant>& grants() const { return grants_; }

  const policy::Identity* by_id(std::string_view id) const;
  // By normalised inbox; a live identity wins over a revoked or rejected one with the same inbox.
  const policy::Identity* by_inbox(std::string_view inbox) const;
  // By principal ("sasl:agent1"); only live (non-terminal) identities are indexed.
  const policy::Identity* by_principal(std::string_view principal) const;
  // Grants as of this generation; usage counters here are stale by design (the store is the
  // authority for quotas).
  const policy::Grant* grant(std::string_view id) const;

 private:
  const policy::Identity* find(const FlatIndex& index, std::string_view key) const;

  std::uint64_t generation_ = 0;
  policy::Time built_at_{};
  std::vector<policy::Identity> identities_;  // never resized after indexing: keys point into it
  std::vector<policy::Grant> grants_;         // likewise
  FlatIndex by_id_, by_inbox_, by_principal_, grants_by_id_;
};

}  // namespace agentgate::registry
