// What the control plane reports about a running agentgated: the `status` reply (JSON, for
// `agentgatectl status`) and the Prometheus text for GET /metrics. Read-only views of Runtime.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "milter/runtime.hpp"

namespace agentgate::milter {

nlohmann::json status_json(const Runtime& rt, const std::string& config_path);
std::string prometheus_text(const Runtime& rt);

}  // namespace agentgate::milter
