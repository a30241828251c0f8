// EventLog (SPEC section 6): every append stamps event.sequence, agentgate.prev_hash and
// event.hash, so the file verifies with verify_event_stream; a new EventLog on an existing file
// continues its chain; a rotated file continues from the old head; tampering with what it wrote
// is detected at the right line; concurrent appends keep one sequence.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "common/event_chain.hpp"
#include "milter/decision_event.hpp"
#include "milter/event_log.hpp"
#include "test_support.hpp"

namespace agentgate::milter {
namespace {

using nlohmann::json;
using testing::TempDir;

json record(int i) {
  return {{"event", {{"id", "ev" + std::to_string(i)}, {"action", "accept"}}},
          {"email", {{"subject", "message " + std::to_string(i)}}}};
}

void write(EventLog& log, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    auto r = record(i);
    REQUIRE(log.append(r));
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

common::EventChainCheck verify_file(const std::string& path) {
  std::ifstream in(path);
  return common::verify_event_stream(in);
}

TEST_CASE("event log: N appended records verify as one chain") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  {
    EventLog log(path);
    write(log, 1, 25);
    CHECK(log.write_errors() == 0);
  }
  auto c = verify_file(path);
  CHECK(c.ok);
  CHECK(c.records == 25);
  CHECK(c.last_sequence == 25);
  auto lines = read_lines(path);
  REQUIRE(lines.size() == 25);
  auto first = json::parse(lines.front());
  CHECK(first["event"]["sequence"] == 1);
  CHECK(first["agentgate"]["prev_hash"] == common::kEventGenesisHash);
  CHECK(json::parse(lines[1])["agentgate"]["prev_hash"] == first["event"]["hash"]);
  CHECK(first["event"]["id"] == "ev1");
}

TEST_CASE("event log: append stamps the record it is given") {
  TempDir dir;
  EventLog log(dir.file("events.jsonl"));
  auto r = record(1);
  REQUIRE(log.append(r));
  CHECK(r["event"]["sequence"] == 1);
  CHECK(r["agentgate"]["prev_hash"] == common::kEventGenesisHash);
  CHECK(r["event"]["hash"] == common::event_hash(r));
}

TEST_CASE("event log: the file is created without world access") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  EventLog log(path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0007) == 0);
  CHECK((st.st_mode & 0600) == 0600);
}

TEST_CASE("event log: an unopenable path throws") {
  TempDir dir;
  CHECK_THROWS_AS(EventLog(dir.file("missing/dir/events.jsonl")), std::runtime_error);
}

TEST_CASE("event log: a new EventLog continues an existing file's chain") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  SUBCASE("after a restart") {
    {
      EventLog log(path);
      write(log, 1, 3);
    }
    {
      EventLog log(path);
      write(log, 4, 2);
    }
    auto c = verify_file(path);
    CHECK(c.ok);
    CHECK(c.records == 5);
    CHECK(c.last_sequence == 5);
  }
  SUBCASE("three restarts, one record each") {
    for (int i = 1; i <= 3; ++i) {
      EventLog log(path);
      write(log, i, 1);
    }
    CHECK(verify_file(path).records == 3);
  }
  SUBCASE("an existing empty file starts at sequence 1") {
    std::ofstream(path).close();
    {
      EventLog log(path);
      write(log, 1, 2);
    }
    auto c = verify_file(path);
    CHECK(c.ok);
    CHECK(c.first_sequence == 1);
    CHECK(c.records == 2);
  }
}

TEST_CASE("event log: reopen after rotation continues the chain in the new file") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  EventLog log(path);
  write(log, 1, 3);
  auto old_head = verify_file(path).head;
  std::filesystem::rename(path, dir.file("events.jsonl.1"));
  log.reopen();
  write(log, 4, 2);
  auto rotated = verify_file(dir.file("events.jsonl.1"));
  auto current = verify_file(path);
  CHECK(rotated.ok);
  CHECK(rotated.records == 3);
  CHECK(current.ok);
  CHECK(current.records == 2);
  CHECK(current.first_sequence == 4);
  CHECK(json::parse(read_lines(path).front())["agentgate"]["prev_hash"] == old_head);
}

TEST_CASE("event log: tampering with what was written is detected at the right line") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  {
    EventLog log(path);
    write(log, 1, 5);
  }
  const auto good = read_lines(path);
  REQUIRE(good.size() == 5);
  struct Row {
    const char* name;
    std::vector<std::string> lines;
    std::int64_t first_bad_line;
  };
  auto changed = good;
  auto at = changed[2].find("message 3");
  REQUIRE(at != std::string::npos);
  changed[2].replace(at, 9, "message 9");
  auto deleted = good;
  deleted.erase(deleted.begin() + 2);
  auto reordered = good;
  std::swap(reordered[2], reordered[3]);
  auto garbled = good;
  garbled[3] = "{\"event\": truncated";
  const Row rows[] = {
      {"a value changed in line 3", changed, 3},
      {"line 3 deleted", deleted, 3},
      {"lines 3 and 4 swapped", reordered, 3},
      {"line 4 not JSON", garbled, 4},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      write_lines(path, row.lines);
      auto c = verify_file(path);
      CHECK_FALSE(c.ok);
      CHECK(c.first_bad_line == row.first_bad_line);
      CHECK(c.records == row.first_bad_line - 1);
    }
  }
}

TEST_CASE("event log: a failed write leaves no torn record behind") {
  // A short write(2) (disk full; here the file size limit) is counted as an error and its
  // bytes are taken back out (ftruncate), so the file stays a valid chain and the next record
  // links to the last one written whole.
  TempDir dir;
  auto path = dir.file("events.jsonl");
  EventLog log(path);
  write(log, 1, 2);
  auto size = std::filesystem::file_size(path);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(size + 40);  // room for a fragment of the next line
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &tight) == 0);
  auto r = record(3);
  bool written = log.append(r);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  CHECK_FALSE(written);
  CHECK(log.write_errors() == 1);
  write(log, 4, 1);
  auto c = verify_file(path);
  CHECK(c.ok);
  CHECK(c.records == 3);
  CHECK(c.first_bad_line == 0);
}

TEST_CASE("event log: hostile content still yields a verifiable line") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  EventLog log(path);
  for (const auto& subject : {std::string("caf\xe9 \xff\xfe"), std::string("a\nb\r\nc"),
                              std::string("\"}\n{\"event\":1}"), std::string(1, '\0')}) {
    auto r = record(0);
    r["email"]["subject"] = subject;
    REQUIRE(log.append(r));
  }
  auto c = verify_file(path);
  CHECK(c.ok);
  CHECK(c.records == 4);
  CHECK(read_lines(path).size() == 4);
}

TEST_CASE("event log: a decision's ECS event round-trips through the chain") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  policy::MessageFacts f;
  f.mail_from = "sales@agents.example.com";
  f.subject = "Quote";
  Decision d;
  d.event_id = make_event_id();
  d.stage = "eom";
  d.facts = &f;
  d.verdict.reasons = {policy::Reason::proof_missing};
  d.verdict.action = d.verdict.would_action = policy::Action::reject;
  d.verdict.directions = policy::kOutbound;
  {
    EventLog log(path);
    policy::PolicySettings s;
    auto e = ecs_event(d, s, "mx1");
    REQUIRE(log.append(e));
  }
  auto c = verify_file(path);
  CHECK(c.ok);
  auto line = json::parse(read_lines(path).front());
  CHECK(line["event"]["id"] == d.event_id);
  CHECK(line["event"]["sequence"] == 1);
  CHECK(line["event"]["hash"] == c.head);
}

TEST_CASE("event log: concurrent appends keep one gap-free sequence") {
  TempDir dir;
  auto path = dir.file("events.jsonl");
  {
    EventLog log(path);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 250; ++i) {
          auto r = record(t * 1000 + i);
          log.append(r);
        }
      });
    for (auto& th : threads) th.join();
    CHECK(log.write_errors() == 0);
  }
  auto c = verify_file(path);
  CHECK(c.ok);
  CHECK(c.records == 1000);
}

}  // namespace
}  // namespace agentgate::milter
