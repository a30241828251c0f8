// Event log writer.
#include "milter/event_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "common/event_chain.hpp"

namespace agentgate::milter {

EventLog::EventLog(std::string path) : path_(std::move(path)), head_(common::kEventGenesisHash) {
  resume_chain();
  open_fd();
}

EventLog::~EventLog() {
  if (fd_ >= 0) ::close(fd_);
}

void EventLog::open_fd() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    throw std::runtime_error(fmt::format("event log {}: {}", path_, std::strerror(errno)));
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

// Continues from the last complete record. Reading the whole file once at start is simple and
// bounded by log rotation; a rotated (empty) file starts a new chain linked to the old head.
void EventLog::resume_chain() {
  std::ifstream in(path_);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  if (last.empty()) return;
  auto j = nlohmann::json::parse(last, nullptr, false);
  if (j.is_discarded()) return;
  sequence_ = j.value(nlohmann::json::json_pointer("/event/sequence"), std::int64_t{0});
  head_ = j.value(nlohmann::json::json_pointer("/event/hash"), common::kEventGenesisHash);
}

bool EventLog::append(nlohmann::json& record) {
  std::lock_guard lock(mu_);
  record["event"]["sequence"] = sequence_ + 1;
  record["agentgate"]["prev_hash"] = head_;
  auto hash = common::event_hash(record);
  record["event"]["hash"] = hash;
  auto line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  auto n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    if (n > 0) {  // short write (disk full, size limit): remove the torn bytes
      struct stat st {};
      if (::fstat(fd_, &st) == 0) (void)::ftruncate(fd_, st.st_size - n);
    }
    ++write_errors_;
    return false;
  }
  ++sequence_;
  head_ = hash;
  return true;
}

std::optional<std::string> EventLog::reopen() {
  std::lock_guard lock(mu_);
  try {
    open_fd();
  } catch (const std::exception& e) {
    return e.what();
  }
  return std::nullopt;
}

std::uint64_t EventLog::write_errors() const {
  std::lock_guard lock(mu_);
  return write_errors_;
}

}  // namespace agentgate::milter
