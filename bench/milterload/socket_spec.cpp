// Resolution, connect and listen for libmilter socket specs (see socket_spec.hpp).
#include "socket_spec.hpp"

#include <netdb.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace agentgate::bench {
namespace {

Endpoint unix_endpoint(std::string_view spec, std::string_view path) {
  Endpoint e;
  e.text = spec;
  e.unix_path = path;
  sockaddr_un sun{};
  if (path.empty() || path.size() >= sizeof sun.sun_path)
    throw std::runtime_error(fmt::format("{}: bad unix socket path", spec));
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  std::memcpy(&e.address, &sun, sizeof sun);
  e.address_len = static_cast<socklen_t>(sizeof sun);
  e.family = AF_UNIX;
  return e;
}

// inet:PORT@HOST and inet6:PORT@HOST; HOST defaults to the wildcard (listen) or loopback.
Endpoint inet_endpoint(std::string_view spec, std::string_view rest, int family) {
  auto at = rest.find('@');
  std::string port(rest.substr(0, at));
  std::string host(at == std::string_view::npos ? "" : rest.substr(at + 1));
  if (port.empty()) throw std::runtime_error(fmt::format("{}: missing port", spec));
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = host.empty() ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) throw std::runtime_error(fmt::format("{}: {}", spec, gai_strerror(rc)));
  Endpoint e;
  e.text = spec;
  std::memcpy(&e.address, found->ai_addr, found->ai_addrlen);
  e.address_len = found->ai_addrlen;
  e.family = found->ai_family;
  freeaddrinfo(found);
  return e;
}

}  // namespace

Endpoint resolve_endpoint(std::string_view spec) {
  auto colon = spec.find(':');
  if (colon == std::string_view::npos)
    throw std::runtime_error(fmt::format("{}: expected unix:/path or inet:PORT@HOST", spec));
  auto scheme = spec.substr(0, colon);
  auto rest = spec.substr(colon + 1);
  if (scheme == "unix" || scheme == "local") return unix_endpoint(spec, rest);
  if (scheme == "inet") return inet_endpoint(spec, rest, AF_INET);
  if (scheme == "inet6") return inet_endpoint(spec, rest, AF_INET6);
  throw std::runtime_error(fmt::format("{}: unknown socket type '{}'", spec, scheme));
}

int listen_on(const Endpoint& endpoint, int backlog) {
  int fd = socket(endpoint.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  if (endpoint.family == AF_UNIX) {
    unlink(endpoint.unix_path.c_str());
  } else {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.address_len) < 0 ||
      listen(fd, backlog) < 0) {
    int err = errno;
    close(fd);
    throw std::runtime_error(fmt::format("{}: {}", endpoint.text, std::strerror(err)));
  }
  // The MTA may run as another user (Postfix's smtpd runs as "postfix").
  if (endpoint.family == AF_UNIX) chmod(endpoint.unix_path.c_str(), 0666);
  return fd;
}

}  // namespace agentgate::bench
