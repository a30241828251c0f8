// Milter socket addresses in libmilter's syntax (unix:/path, local:/path, inet:PORT@HOST,
// inet6:PORT@HOST), resolved once at startup so that the load loop never touches DNS.
// Shared by milterload (connects) and milter_responder (listens). Errors throw
// std::runtime_error naming the spec.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace agentgate::bench {

struct Endpoint {
  std::string text;       // the spec as given, for messages
  std::string unix_path;  // set for unix:/local: specs
  sockaddr_storage address{};
  socklen_t address_len = 0;
  int family = AF_UNSPEC;
};

// Parses and resolves a libmilter socket spec; throws std::runtime_error when it is malformed
// or the host does not resolve.
Endpoint resolve_endpoint(std::string_view spec);

// A listening socket (a stale unix socket file is replaced, mode 0666); throws on error.
int listen_on(const Endpoint& endpoint, int backlog);

}  // namespace agentgate::bench
