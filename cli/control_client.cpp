#include "cli/control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace agentgate::cli {
namespace {

constexpr std::size_t kMaxReply = 1 << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::optional<nlohmann::json> control_request(const std::string& socket_path,
                                              std::string_view request,
                                              std::chrono::milliseconds timeout,
                                              std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = fmt::format("{}: {}", socket_path, why);
    return std::nullopt;
  };
  sockaddr_un addr{};
  if (socket_path.empty()) return fail("no control socket configured");
  if (socket_path.size() >= sizeof addr.sun_path) return fail("path too long");
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return fail(std::strerror(errno));
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail(std::strerror(errno));
  std::string line = std::string(request) + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    return fail(fmt::format("send: {}", std::strerror(errno)));
  std::string reply;
  char buf[4096];
  while (reply.find('\n') == std::string::npos && reply.size() < kMaxReply) {
    auto n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno == EAGAIN || errno == EWOULDBLOCK ? "no answer in time"
                                                          : std::strerror(errno));
    }
    reply.append(buf, static_cast<std::size_t>(n));
  }
  auto parsed = nlohmann::json::parse(reply, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return fail("the reply is not a JSON object");
  return parsed;
}

}  // namespace agentgate::cli
