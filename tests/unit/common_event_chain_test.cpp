// The event log's hash chain (SPEC section 6): event_hash is a canonical SHA-256 that ignores
// event.hash itself, and verify_event_stream accepts an intact chain and names the first bad line
// of a tampered, truncated, reordered or garbled one.
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/event_chain.hpp"

namespace agentgate::common {
namespace {

using nlohmann::json;

// A chain of `n` records written the way EventLog writes them.
std::vector<std::string> chain(int n, std::int64_t first_sequence = 1,
                               std::string head = kEventGenesisHash) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    json r = {
        {"event", {{"action", i % 2 ? "reject" : "accept"}, {"id", "ev" + std::to_string(i)}}},
        {"email", {{"subject", "message " + std::to_string(i)}}}};
    r["event"]["sequence"] = first_sequence + i;
    r["agentgate"]["prev_hash"] = head;
    head = event_hash(r);
    r["event"]["hash"] = head;
    lines.push_back(r.dump());
  }
  return lines;
}

std::string text(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

EventChainCheck verify(const std::string& s) {
  std::istringstream in(s);
  return verify_event_stream(in);
}

// Re-stamps a record's hash after its content was changed (a careful forger).
std::string rehash(const std::string& line) {
  auto j = json::parse(line);
  j["event"]["hash"] = event_hash(j);
  return j.dump();
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}

TEST_CASE("event_hash: canonical SHA-256 of the record without event.hash") {
  json r = json::parse(R"({"event":{"id":"a","sequence":1},"agentgate":{"prev_hash":"00"}})");
  auto h = event_hash(r);
  SUBCASE("64 lower-case hex digits") {
    CHECK(h.size() == 64);
    CHECK(h.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  SUBCASE("event.hash itself is left out") {
    json with = r;
    with["event"]["hash"] = "anything";
    CHECK(event_hash(with) == h);
  }
  SUBCASE("key order and whitespace do not matter") {
    json same = json::parse(R"({ "agentgate" : {"prev_hash":"00"},
                                 "event": {"sequence": 1, "id": "a"} })");
    CHECK(event_hash(same) == h);
  }
  SUBCASE("every value counts") {
    for (const char* path : {"/event/id", "/agentgate/prev_hash"}) {
      json changed = r;
      changed[json::json_pointer(path)] = "b";
      CAPTURE(path);
      CHECK(event_hash(changed) != h);
    }
    json changed = r;
    changed["event"]["sequence"] = 2;
    CHECK(event_hash(changed) != h);
  }
  SUBCASE("invalid UTF-8 is hashed, not thrown") {
    json bad = r;
    bad["email"]["subject"] = std::string("caf\xe9");
    CHECK(event_hash(bad).size() == 64);
  }
}

TEST_CASE("verify_event_stream: intact chains verify") {
  SUBCASE("five records") {
    auto lines = chain(5);
    auto c = verify(text(lines));
    CHECK(c.ok);
    CHECK(c.records == 5);
    CHECK(c.last_sequence == 5);
    CHECK(c.first_bad_line == 0);
    CHECK(c.head == json::parse(lines.back())["event"]["hash"].get<std::string>());
  }
  SUBCASE("an empty file verifies with 0 records and the genesis head") {
    auto c = verify("");
    CHECK(c.ok);
    CHECK(c.records == 0);
    CHECK(c.head == kEventGenesisHash);
  }
  SUBCASE("a rotated file continuing the chain reports where it starts") {
    auto all = chain(6);
    std::vector<std::string> second(all.begin() + 3, all.end());
    auto c = verify(text(second));
    CHECK(c.ok);
    CHECK(c.records == 3);
    CHECK(c.first_sequence == 4);
    CHECK(c.head == json::parse(all.back())["event"]["hash"].get<std::string>());
  }
}

TEST_CASE("verify_event_stream: names the first bad line of a broken chain") {
  auto good = chain(5);
  struct Row {
    const char* name;
    std::vector<std::string> lines;
    std::int64_t first_bad_line;
    std::int64_t records_before;
  };
  auto with = [&](int index, std::string line) {
    auto l = good;
    l[index] = std::move(line);
    return l;
  };
  auto without = [&](int index) {
    auto l = good;
    l.erase(l.begin() + index);
    return l;
  };
  auto inserted = [&](int index, std::string line) {
    auto l = good;
    l.insert(l.begin() + index, std::move(line));
    return l;
  };
  auto swapped = [&](int a, int b) {
    auto l = good;
    std::swap(l[a], l[b]);
    return l;
  };
  const Row rows[] = {
      {"a value changed in a middle line", with(2, replace(good[2], "message 2", "message X")), 3,
       2},
      {"an action changed and the hash re-stamped: the next line no longer links",
       with(2, rehash(replace(good[2], "\"accept\"", "\"reject\""))), 4, 3},
      {"a middle line deleted", without(2), 3, 2},
      {"the last line deleted still verifies up to it", without(4), 0, 4},
      {"two middle lines swapped", swapped(1, 2), 2, 1},
      {"the first two lines swapped", swapped(0, 1), 2, 1},
      {"a non-JSON line", with(2, "not json at all"), 3, 2},
      {"a JSON array line", with(2, "[1,2,3]"), 3, 2},
      {"a blank line", inserted(2, ""), 3, 2},
      {"a line duplicated", inserted(3, good[2]), 4, 3},
      {"a truncated last record", with(4, good[4].substr(0, good[4].size() / 2)), 5, 4},
      {"event.hash removed", with(1, replace(good[1], "\"hash\"", "\"hush\"")), 2, 1},
      {"a first record that does not start from genesis",
       with(0, rehash(replace(good[0], kEventGenesisHash, std::string(64, 'f')))), 1, 0},
      {"a record with a sequence but no prev_hash",
       with(0, rehash(replace(good[0], "prev_hash", "prev_hush"))), 1, 0},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      auto c = verify(text(row.lines));
      CHECK(c.ok == (row.first_bad_line == 0));
      CHECK(c.first_bad_line == row.first_bad_line);
      CHECK(c.records == row.records_before);
      if (!c.ok) CHECK_FALSE(c.problem.empty());
    }
  }
}

}  // namespace
}  // namespace agentgate::common
