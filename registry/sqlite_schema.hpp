// The SQLite schema as an ordered list of migrations (see sqlite_schema.cpp).
#pragma once

#include <span>

namespace agentgate::registry {
std::span<const char* const> sqlite_migrations();
}
