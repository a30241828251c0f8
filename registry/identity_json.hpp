// JSON form of an identity: what `identity show --json` prints and what audit records embed.
#pragma once

#include <nlohmann/json.hpp>

#include "policy/grant.hpp"
#include "policy/identity.hpp"

namespace agentgate::registry {

// `now` decides the effective status ("status"); the stored one is kept as "stored_status".
nlohmann::json identity_to_json(const policy::Identity& identity, policy::Time now);
// The grant as `grant show --json` prints it (the public key in base64url, never a secret).
nlohmann::json grant_to_json(const policy::Grant& grant, policy::Time now);

}  // namespace agentgate::registry
