// Listener setup and privilege drop.
#include "milter/socket.hpp"

#include <grp.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "milter/native/server.hpp"
#include "milter/runtime.hpp"

namespace agentgate::milter {

std::string unix_socket_path(const std::string& spec) {
  if (spec.starts_with("unix:")) return spec.substr(5);
  if (spec.starts_with("local:")) return spec.substr(6);
  if (spec.starts_with("/")) return spec;
  return "";
}

// libmilter writes each end-of-message edit (a header, the quarantine) and the final reply as
// separate small packets; with Nagle's algorithm on, the second one waits for the MTA's delayed
// ACK, ~40 ms per message. libmilter does not expose its listening socket, so it is found among
// our descriptors; accepted connections inherit TCP_NODELAY from it (Linux).
namespace {

int disable_nagle_on_tcp_listeners() {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int listening = 0, domain = 0, protocol = 0, on = 1;
    socklen_t len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) continue;
    len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0) continue;
    if ((domain != AF_INET && domain != AF_INET6) || protocol != IPPROTO_TCP) continue;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) ++found;
  }
  return found;
}

}  // namespace

int open_listener(const common::MilterSettings& m) {
  auto path = unix_socket_path(m.socket);
  if (!path.empty()) {
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir);
  }
  int fd = -1;
  if (m.engine == "native") {
    fd = native::open_native_listener(m.socket);  // accepted TCP connections get TCP_NODELAY
  } else {
    if (smfi_setconn(const_cast<char*>(m.socket.c_str())) != MI_SUCCESS)
      throw std::runtime_error(
          fmt::format("milter.socket '{}': not a valid socket spec", m.socket));
    mode_t old = umask(static_cast<mode_t>(~m.socket_mode & 0777));
    int rc = smfi_opensocket(true);
    umask(old);
    if (rc != MI_SUCCESS)
      throw std::runtime_error(
          fmt::format("milter.socket '{}': cannot listen (in use, or no "
                      "permission on its directory?)",
                      m.socket));
    if (path.empty() && disable_nagle_on_tcp_listeners() == 0)
      log_error(
          fmt::format("milter.socket '{}': could not set TCP_NODELAY on the listener; "
                      "expect ~40 ms delayed-ACK stalls per message",
                      m.socket));
  }
  if (path.empty()) return fd;
  secure_socket(path, m);
  return fd;
}

void secure_socket(const std::string& path, const common::MilterSettings& m) {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!m.user.empty())
    if (auto* pw = getpwnam(m.user.c_str())) uid = pw->pw_uid, gid = pw->pw_gid;
  if (!m.group.empty()) {
    auto* gr = getgrnam(m.group.c_str());
    if (!gr) throw std::runtime_error(fmt::format("milter.group '{}': no such group", m.group));
    gid = gr->gr_gid;
  }
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      chown(path.c_str(), uid, gid) != 0)
    throw std::runtime_error(fmt::format("chown {}: {}", path, std::strerror(errno)));
  if (chmod(path.c_str(), static_cast<mode_t>(m.socket_mode)) != 0)
    throw std::runtime_error(fmt::format("chmod {}: {}", path, std::strerror(errno)));
}

void hand_over(const std::string& path, const common::MilterSettings& m) {
  if (m.user.empty() || geteuid() != 0) return;
  auto* pw = getpwnam(m.user.c_str());
  if (!pw) throw std::runtime_error(fmt::format("milter.user '{}': no such user", m.user));
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error(fmt::format("chown {}: {}", path, std::strerror(errno)));
}

void drop_privileges(const common::MilterSettings& m) {
  if (m.user.empty() || geteuid() != 0) return;
  auto* pw = getpwnam(m.user.c_str());
  if (!pw) throw std::runtime_error(fmt::format("milter.user '{}': no such user", m.user));
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
      setuid(pw->pw_uid) != 0)
    throw std::runtime_error(
        fmt::format("cannot switch to user '{}': {}", m.user, std::strerror(errno)));
  if (setuid(0) == 0) throw std::runtime_error("privilege drop failed: root could be regained");
}

}  // namespace agentgate::milter
