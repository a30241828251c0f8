// Duration and ISO 8601 parsing. Hand-written because the grammar is tiny and std::chrono::parse
// is missing from the Debian 12 toolchain.
#include "common/timefmt.hpp"

#include <cctype>
#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace agentgate::common {
namespace {

bool read_int(std::string_view& s, size_t digits, int& out) {
  if (s.size() < digits) return false;
  int v = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  s.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  long long n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || ptr != text.data() + text.size() - 1 || n < 0) return std::nullopt;
  long long unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return std::nullopt;
  }
  if (n > (1LL << 40) / unit) return std::nullopt;
  return std::chrono::seconds(n * unit);
}

std::optional<std::chrono::milliseconds> parse_interval(std::string_view text) {
  if (text.size() >= 3 && text.ends_with("ms")) {
    long long ms = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 2, ms);
    if (ec != std::errc() || ptr != text.data() + text.size() - 2 || ms < 0) return std::nullopt;
    return std::chrono::milliseconds(ms);
  }
  if (auto d = parse_duration(text)) return std::chrono::milliseconds(*d);
  return std::nullopt;
}

std::string format_duration(std::chrono::seconds d) {
  auto s = d.count();
  if (s != 0 && s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s != 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s != 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

std::optional<Time> parse_iso8601(std::string_view s) {
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hh = 0, mm = 0, ss = 0;
  if (!read_int(s, 4, year) || !expect(s, '-') || !read_int(s, 2, mon) || !expect(s, '-') ||
      !read_int(s, 2, day))
    return std::nullopt;
  long offset = 0;
  if (!s.empty()) {
    if (s.front() != 'T' && s.front() != ' ') return std::nullopt;
    s.remove_prefix(1);
    if (!read_int(s, 2, hh) || !expect(s, ':') || !read_int(s, 2, mm)) return std::nullopt;
    if (!s.empty() && s.front() == ':') {
      s.remove_prefix(1);
      if (!read_int(s, 2, ss)) return std::nullopt;
    }
    if (!s.empty() && s.front() == '.') {  // fractional seconds are accepted and dropped
      s.remove_prefix(1);
      while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    }
    if (s == "Z" || s.empty()) {
      s = {};
    } else if (s.front() == '+' || s.front() == '-') {
      int sign = s.front() == '-' ? -1 : 1, oh = 0, om = 0;
      s.remove_prefix(1);
      if (!read_int(s, 2, oh)) return std::nullopt;
      if (!s.empty() && s.front() == ':') s.remove_prefix(1);
      if (!read_int(s, 2, om) || !s.empty() || oh > 23 || om > 59) return std::nullopt;
      offset = sign * (oh * 3600L + om * 60L);
    } else {
      return std::nullopt;
    }
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  time_t t = timegm(&tm);
  if (tm.tm_mday != day) return std::nullopt;  // 2026-02-31 normalised to March: refuse
  return Time(std::chrono::seconds(t - offset));
}

std::string format_iso8601(Time t) {
  time_t tt = static_cast<time_t>(t.time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string format_iso8601_ms(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  auto base = format_iso8601(Time(secs.time_since_epoch()));
  base.pop_back();
  return fmt::format("{}.{:03}Z", base, ms);
}

std::optional<Time> parse_when(std::string_view text, Time now, bool past) {
  if (auto d = parse_duration(text)) return past ? now - *d : now + *d;
  return parse_iso8601(text);
}

Time now_seconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace agentgate::common
