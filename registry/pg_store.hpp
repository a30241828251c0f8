// Factory for the PostgreSQL backend (see pg_store.cpp for its contract).
#pragma once

#include <memory>
#include <string>

#include "registry/store.hpp"

namespace agentgate::registry {

// The LISTEN/NOTIFY channel every committed registry write notifies, with the new generation
// (decimal text) as payload.
inline constexpr const char* kPgChannel = "agentgate_registry";

std::unique_ptr<Store> open_pg_store(const std::string& url, bool create);

}  // namespace agentgate::registry
