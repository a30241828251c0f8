// Identity and grant lookups read on demand from a Store, each row read once per view. Used
// where a snapshot may lag the store: the daemon's end of message and `agentgatectl explain`.
// A store error propagates (StoreError); callers decide what an outage means.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "policy/engine.hpp"
#include "registry/store.hpp"

namespace agentgate::registry {

class StoreLookup : public policy::IdentityLookup {
 public:
  explicit StoreLookup(Store& store) : store_(store) {}
  policy::Lookup by_inbox(std::string_view inbox) const override;
  const policy::Grant* grant(std::string_view id) const override;

 private:
  Store& store_;
  mutable std::map<std::string, std::optional<policy::Identity>, std::less<>> rows_;
  mutable std::map<std::string, std::optional<policy::Grant>, std::less<>> grants_;
};

}  // namespace agentgate::registry
