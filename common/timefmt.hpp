// Durations ("300s", "15m", "1h", "30d") and ISO 8601 times, as the CLI and config spell them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace agentgate::common {

using Time = std::chrono::sys_seconds;

// "300s", "15m", "1h", "30d" (also "2w"); a bare number is refused: units are never guessed.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::seconds d);
// Like parse_duration, and also "250ms": for poll intervals and timeouts.
std::optional<std::chrono::milliseconds> parse_interval(std::string_view text);

// "2026-12-01", "2026-12-01T10:00:00Z", "2026-12-01T10:00:00+02:00" (a date alone means 00:00Z).
std::optional<Time> parse_iso8601(std::string_view text);
std::string format_iso8601(Time t);  // "2026-12-01T10:00:00Z"
// Milliseconds precision for events and audit: "2026-12-01T10:00:00.123Z".
std::string format_iso8601_ms(std::chrono::system_clock::time_point t);

// A duration from now or an absolute date: what --expires and --since accept.
std::optional<Time> parse_when(std::string_view text, Time now, bool past);

Time now_seconds();

}  // namespace agentgate::common
