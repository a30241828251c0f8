// ECS event (SPEC section 6) to OCSF 1.1.0 Email Activity (class_uid 4009) with the
// security_control and host profiles, for `agentgatectl events export --format ocsf`.
// A pure function: JSON in, JSON out; no I/O, no clock. It never invents OCSF attribute names:
// what OCSF 1.1 has no attribute for goes under `unmapped.agentgate`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/result.hpp"

namespace agentgate::cli {

inline constexpr int kOcsfEmailActivityClass = 4009;
inline constexpr const char* kOcsfVersion = "1.1.0";

struct OcsfOptions {
  std::string product_version;            // metadata.product.version
  std::string log_name = "events.jsonl";  // metadata.log_name: the file the record came from
};

// "2026-12-01T10:00:00.123Z" (or any ISO 8601 time parse_iso8601 takes) to milliseconds since
// the epoch, keeping the fraction the event carries.
std::optional<std::int64_t> iso8601_to_epoch_ms(std::string_view text);

// One OCSF record for one ECS event. Refuses (rule "not_an_event") a value that is not an
// object or lacks the two fields every OCSF record is built from: a parseable @timestamp and
// event.action. Any other field may be absent or of an unexpected type: it is then left out.
policy::Result<nlohmann::json> ecs_to_ocsf(const nlohmann::json& ecs, const OcsfOptions& options);

}  // namespace agentgate::cli
