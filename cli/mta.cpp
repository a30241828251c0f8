#include "cli/mta.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace agentgate::cli {
namespace {

// The MTA's admin tools live in sbin, which a non-root PATH often lacks.
std::string locate(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"}) {
    auto p = std::filesystem::path(dir) / name;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return name;
}

bool valid_queue_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
             std::string::npos;
}

void require_valid(const std::string& id) {
  if (!valid_queue_id(id)) throw std::invalid_argument(fmt::format("'{}' is not a queue id", id));
}

[[noreturn]] void failed(const std::string& what, const CommandResult& r) {
  throw std::runtime_error(
      fmt::format("{} failed (exit {}): {}", what, r.status, r.err.empty() ? r.out : r.err));
}

// Sendmail names its queue files with a two-letter prefix and the queue id; quarantined
// messages keep their envelope and headers in hf<id> (instead of qf<id>) and the body in df<id>.
std::filesystem::path sendmail_file(const common::MtaSettings& s, const char* prefix,
                                    const std::string& id) {
  return std::filesystem::path(s.queue_dir) / (prefix + id);
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The headers of a Sendmail control file: its H lines ("H?flags?Name: value", the ?flags?
// part optional) with their continuation lines, in order.
std::string sendmail_headers(const std::string& control) {
  std::string headers;
  bool in_header = false;
  std::istringstream in(control);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with('H')) {
      line.erase(0, 1);
      if (line.starts_with('?')) {
        auto close = line.find('?', 1);
        line.erase(0, close == std::string::npos ? 0 : close + 1);
      }
      headers += line + "\n";
      in_header = true;
    } else if (in_header && (line.starts_with('\t') || line.starts_with(' '))) {
      headers += line + "\n";
    } else {
      in_header = false;
    }
  }
  return headers;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::size_t max_output) {
  CommandResult r;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return r;
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]), close(out[1]);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<std::string> args = argv;
  args[0] = locate(args[0]);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargs[0], &fa, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]), close(err[1]);
  if (rc != 0) {
    close(out[0]), close(err[0]);
    r.err = fmt::format("cannot run {}: {}", args[0], std::strerror(rc));
    return r;
  }
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      auto& sink = i == 0 ? r.out : r.err;
      if (sink.size() < max_output) sink.append(buf, static_cast<std::size_t>(n));
    }
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return r;
}

bool Mta::held(const std::string& id) const {
  require_valid(id);
  if (s_.kind == "sendmail") return std::filesystem::exists(sendmail_file(s_, "hf", id));
  auto r = run_command({"postqueue", "-c", s_.config_dir, "-j"});
  if (r.status != 0) failed("postqueue -j", r);
  std::size_t start = 0;
  while (start < r.out.size()) {
    auto end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    auto j = nlohmann::json::parse(r.out.substr(start, end - start), nullptr, false);
    if (j.is_object() && j.value("queue_id", "") == id) return j.value("queue_name", "") == "hold";
    start = end + 1;
  }
  return false;
}

std::optional<std::string> Mta::content(const std::string& id) const {
  require_valid(id);
  if (s_.kind == "sendmail") {
    auto control = read_file(sendmail_file(s_, "hf", id));
    auto body = read_file(sendmail_file(s_, "df", id));
    if (!control || !body) return std::nullopt;
    return sendmail_headers(*control) + "\n" + *body;
  }
  auto r = run_command({"postcat", "-c", s_.config_dir, "-h", "-b", "-q", id});
  if (r.status != 0) return std::nullopt;
  return r.out;
}

void Mta::release(const std::string& id) const {
  require_valid(id);
  if (s_.kind == "sendmail") {
    // -qQ selects the quarantined queue, -Q with no reason lifts the quarantine (hf -> qf).
    auto unq = run_command({s_.sendmail, "-C", s_.config_dir, "-qQ", "-qI" + id, "-Q"});
    if (unq.status != 0) failed("sendmail -qQ -Q (unquarantine)", unq);
    if (!std::filesystem::exists(sendmail_file(s_, "qf", id)))
      throw std::runtime_error(fmt::format("sendmail did not unquarantine {}: {}", id,
                                           unq.err.empty() ? unq.out : unq.err));
    auto run = run_command({s_.sendmail, "-C", s_.config_dir, "-qI" + id});
    if (run.status != 0) failed("sendmail -qI (delivery)", run);
    return;
  }
  auto unhold = run_command({"postsuper", "-c", s_.config_dir, "-H", id});
  if (unhold.status != 0) failed("postsuper -H", unhold);
  auto flush = run_command({"postqueue", "-c", s_.config_dir, "-i", id});
  if (flush.status != 0) failed("postqueue -i", flush);
}

void Mta::remove(const std::string& id) const {
  require_valid(id);
  if (s_.kind == "sendmail") {
    // Under the control file's lock (Sendmail's own), so a queue run cannot be delivering it;
    // the control file goes first so no runner ever sees an envelope without its body.
    auto hf = sendmail_file(s_, "hf", id);
    int fd = open(hf.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      throw std::runtime_error(
          fmt::format("cannot open {}: {}", hf.string(), std::strerror(errno)));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      throw std::runtime_error(
          fmt::format("{} is locked by Sendmail (being processed); try again", hf.string()));
    }
    std::error_code ec;
    std::filesystem::remove(hf, ec);
    close(fd);
    if (ec)
      throw std::runtime_error(fmt::format("cannot remove {}: {}", hf.string(), ec.message()));
    std::filesystem::remove(sendmail_file(s_, "df", id), ec);
    std::filesystem::remove(sendmail_file(s_, "xf", id), ec);
    return;
  }
  auto r = run_command({"postsuper", "-c", s_.config_dir, "-d", id, "hold"});
  if (r.status != 0) failed("postsuper -d", r);
}

}  // namespace agentgate::cli
