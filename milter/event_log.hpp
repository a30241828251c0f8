// The JSON Lines event log (SPEC section 6). Each append stamps event.sequence,
// agentgate.prev_hash and event.hash under one short lock, then writes the line with a single
// write(2) on an O_APPEND descriptor, so a killed daemon never leaves half a record behind.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace agentgate::milter {

class EventLog {
 public:
  // Opens (creating, mode 0640) and reads the last record to continue the chain.
  // Throws std::runtime_error when the file cannot be opened.
  explicit EventLog(std::string path);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Completes the record's chain fields and appends it. False when the write failed.
  bool append(nlohmann::json& record);
  // Reopens the file (after log rotation); keeps the chain position. On failure the old
  // descriptor stays in use and the reason is returned.
  std::optional<std::string> reopen();
  const std::string& path() const { return path_; }
  std::uint64_t write_errors() const;

 private:
  void open_fd();
  void resume_chain();

  std::string path_;
  mutable std::mutex mu_;  // serialises chain position and writes: the chain is one sequence
  int fd_ = -1;
  std::int64_t sequence_ = 0;
  std::string head_;
  std::uint64_t write_errors_ = 0;
};

}  // namespace agentgate::milter
