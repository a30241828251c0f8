// Factory for the SQLite backend (see sqlite_store.cpp for its contract).
#pragma once

#include <memory>
#include <string>

#include "registry/store.hpp"

namespace agentgate::registry {
std::unique_ptr<Store> open_sqlite_store(const std::string& path, bool create);
}
