// The CLI side of agentgated's control socket: one request line, one JSON reply line.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace agentgate::cli {

// Sends `request` ("status", "refresh", "ping") and returns the parsed reply; nullopt with
// `error` set when the daemon cannot be reached, does not answer within `timeout`, or
// answers something that is not JSON.
std::optional<nlohmann::json> control_request(const std::string& socket_path,
                                              std::string_view request,
                                              std::chrono::milliseconds timeout,
                                              std::string* error);

}  // namespace agentgate::cli
