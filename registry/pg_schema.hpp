// The PostgreSQL schema as an ordered list of migrations (see pg_schema.cpp).
#pragma once

#include <span>

namespace agentgate::registry {
std::span<const char* const> pg_migrations();
}
