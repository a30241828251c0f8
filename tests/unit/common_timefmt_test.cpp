// Durations and ISO 8601 times as the CLI and config spell them: what is accepted, what each
// form means, and that anything ambiguous or out of range is refused instead of guessed.
#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include "common/timefmt.hpp"

namespace agentgate::common {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Time at(long long epoch_seconds) {
  return Time(seconds(epoch_seconds));
}

TEST_CASE("timefmt: durations carry an explicit unit") {
  struct Row {
    const char* text;
    long long secs;
  };
  const Row rows[] = {
      {"300s", 300},      {"15m", 900}, {"1h", 3600},        {"30d", 30 * 86400},
      {"2w", 14 * 86400}, {"0s", 0},    {"90d", 90 * 86400},
  };
  for (const auto& row : rows) {
    SUBCASE(row.text) {
      auto d = parse_duration(row.text);
      REQUIRE(d.has_value());
      CHECK(d->count() == row.secs);
    }
  }
}

TEST_CASE("timefmt: durations that would need guessing are refused") {
  const char* rows[] = {"",
                        "s",
                        "10",
                        "-1s",
                        "1x",
                        "1.5h",
                        " 5s",
                        "5s ",
                        "+5s",
                        "5 s",
                        "5S",
                        "5ms",
                        "h1",
                        "1hh",
                        "99999999999999999999s",
                        "1817979w",
                        "2000000000000000s"};
  for (const char* text : rows) {
    SUBCASE((std::string("'") + text + "'").c_str()) {
      CHECK_FALSE(parse_duration(text).has_value());
    }
  }
  SUBCASE("the overflow bound sits at 2^40 seconds") {
    CHECK(parse_duration("1099511627776s").has_value());
    CHECK_FALSE(parse_duration("1099511627777s").has_value());
  }
}

TEST_CASE("timefmt: intervals add milliseconds to durations") {
  struct Row {
    const char* text;
    long long ms;
  };
  const Row rows[] = {{"250ms", 250}, {"0ms", 0}, {"1s", 1000}, {"2m", 120000}, {"1h", 3600000}};
  for (const auto& row : rows) {
    SUBCASE(row.text) {
      auto d = parse_interval(row.text);
      REQUIRE(d.has_value());
      CHECK(*d == milliseconds(row.ms));
    }
  }
  for (const char* bad : {"", "ms", "-5ms", "1.5ms", "250", "250 ms", "250us", "x250ms"}) {
    SUBCASE((std::string("refused '") + bad + "'").c_str()) {
      CHECK_FALSE(parse_interval(bad).has_value());
    }
  }
}

TEST_CASE("timefmt: format_duration picks the largest exact unit and round-trips") {
  struct Row {
    long long secs;
    const char* text;
  };
  const Row rows[] = {{0, "0s"},     {59, "59s"},         {60, "1m"},
                      {90, "90s"},   {3600, "1h"},        {5400, "90m"},
                      {86400, "1d"}, {14 * 86400, "14d"}, {86400 + 1, "86401s"}};
  for (const auto& row : rows) {
    SUBCASE(row.text) {
      CHECK(format_duration(seconds(row.secs)) == row.text);
      CHECK(parse_duration(format_duration(seconds(row.secs))) == seconds(row.secs));
    }
  }
}

TEST_CASE("timefmt: ISO 8601 forms and what instant each names") {
  struct Row {
    const char* text;
    long long epoch;
  };
  const Row rows[] = {
      {"2026-12-01", 1796083200},  // a date alone is midnight UTC
      {"2026-12-01T10:00:00Z", 1796119200},
      {"2026-12-01T10:00:00", 1796119200},   // no zone: UTC
      {"2026-12-01 10:00:00Z", 1796119200},  // space instead of T
      {"2026-12-01T10:00Z", 1796119200},     // seconds optional
      {"2026-12-01T10:00:00+02:00", 1796112000},
      {"2026-12-01T10:00:00-0130", 1796124600},
      {"2026-12-01T10:00:00+0000", 1796119200},
      {"2026-12-01T10:00:00.123Z", 1796119200},  // fractions dropped
      {"2026-12-01T10:00:00.999999+02:00", 1796112000},
      {"2024-02-29", 1709164800},  // leap day
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1},
      {"2026-12-31T23:59:59Z", 1798761599},
  };
  for (const auto& row : rows) {
    SUBCASE(row.text) {
      auto t = parse_iso8601(row.text);
      REQUIRE(t.has_value());
      CHECK(t->time_since_epoch().count() == row.epoch);
    }
  }
}

TEST_CASE("timefmt: impossible dates and garbage are refused") {
  const char* rows[] = {"2026-02-31",
                        "2026-02-29",
                        "2026-04-31",
                        "2026-13-01",
                        "2026-00-10",
                        "2026-12-00",
                        "2026-12-32",
                        "garbage",
                        "",
                        "2026-1-01",
                        "26-12-01",
                        "2026/12/01",
                        "2026-12-01T",
                        "2026-12-01T24:00:00Z",
                        "2026-12-01T10:60:00Z",
                        "2026-12-01T10:00:61Z",
                        "2026-12-01T10Z",
                        "2026-12-01T10:00:00X",
                        "2026-12-01T10:00:00+02",
                        "2026-12-01T10:00:00Z trailing",
                        "2026-12-01x"};
  for (const char* text : rows) {
    SUBCASE((std::string("'") + text + "'").c_str()) {
      CHECK_FALSE(parse_iso8601(text).has_value());
    }
  }
}

// A UTC offset is at most 23:59 (RFC 3339 time-numoffset); anything larger is garbage that
// silently moves the instant by days.
TEST_CASE("timefmt: UTC offsets out of range are refused") {
  for (const char* text : {"2026-12-01T10:00:00+24:00", "2026-12-01T10:00:00+02:60",
                           "2026-12-01T10:00:00+99:99", "2026-12-01T10:00:00-9999"}) {
    SUBCASE(text) {
      CHECK_FALSE(parse_iso8601(text).has_value());
    }
  }
}

TEST_CASE("timefmt: format_iso8601 is UTC with a Z and round-trips") {
  for (long long epoch : {0LL, -1LL, 1796119200LL, 1709164800LL, 4102444799LL}) {
    SUBCASE(std::to_string(epoch).c_str()) {
      auto text = format_iso8601(at(epoch));
      CHECK(text.size() == 20);
      CHECK(text.back() == 'Z');
      CHECK(parse_iso8601(text) == at(epoch));
    }
  }
  CHECK(format_iso8601(at(1796119200)) == "2026-12-01T10:00:00Z");
  CHECK(format_iso8601(at(-1)) == "1969-12-31T23:59:59Z");
}

TEST_CASE("timefmt: format_iso8601_ms keeps three digits of milliseconds") {
  using std::chrono::system_clock;
  struct Row {
    long long ms;
    const char* text;
  };
  const Row rows[] = {{1796119200000, "2026-12-01T10:00:00.000Z"},
                      {1796119200007, "2026-12-01T10:00:00.007Z"},
                      {1796119200123, "2026-12-01T10:00:00.123Z"},
                      {1796119200999, "2026-12-01T10:00:00.999Z"}};
  for (const auto& row : rows) {
    SUBCASE(row.text) {
      CHECK(format_iso8601_ms(system_clock::time_point(milliseconds(row.ms))) == row.text);
      CHECK(parse_iso8601(row.text) == at(row.ms / 1000));
    }
  }
}

TEST_CASE("timefmt: parse_when takes a duration relative to now or an absolute date") {
  const Time now = at(1796119200);
  CHECK(parse_when("1h", now, false) == at(1796119200 + 3600));
  CHECK(parse_when("1h", now, true) == at(1796119200 - 3600));
  CHECK(parse_when("30d", now, false) == at(1796119200 + 30 * 86400));
  CHECK(parse_when("2026-12-01", now, false) == at(1796083200));
  CHECK(parse_when("2026-12-01", now, true) == at(1796083200));
  CHECK_FALSE(parse_when("soon", now, false).has_value());
  CHECK_FALSE(parse_when("10", now, false).has_value());
}

TEST_CASE("timefmt: now_seconds is the system clock truncated to whole seconds") {
  auto before = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  auto now = now_seconds();
  auto after = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  CHECK(before <= now);
  CHECK(now <= after);
}

}  // namespace
}  // namespace agentgate::common
