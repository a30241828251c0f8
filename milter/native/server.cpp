// The native engine's event loops and listener (see server.hpp).
#include "milter/native/server.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace agentgate::milter::native {
namespace {

constexpr size_t kReadSize = 64 * 1024;
constexpr int kMaxEvents = 64;
constexpr int kAcceptsPerWakeup = 32;  // then let the other loops take their share
// Out of descriptors: stop watching the listener this long, instead of spinning on it.
constexpr std::chrono::milliseconds kAcceptPause{100};
using Clock = std::chrono::steady_clock;
char listen_tag;  // epoll_event.data.ptr of the listening socket
char wake_tag;    // ... of the loop's eventfd

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool is_tcp(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return false;
  return domain == AF_INET || domain == AF_INET6;
}

struct Client {
  Client(int f, const FilterSteps& steps) : fd(f), conn(steps) {}
  int fd;
  Connection conn;
  Clock::time_point last_read = Clock::now();
  size_t written = 0;    // of conn.output()
  bool closing = false;  // close once the output is written
  bool waiting_out = false;
};

}  // namespace

struct NativeServer::Loop {
  Loop(int listen, const FilterSteps& s, bool tcp_, std::chrono::milliseconds idle)
      : listen_fd(listen), steps(s), tcp(tcp_), idle_timeout(idle) {
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) throw_errno("epoll_create1");
    event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd < 0) {
      int err = errno;
      close(epoll_fd);
      throw std::system_error(err, std::generic_category(), "eventfd");
    }
    watch(event_fd, EPOLLIN, &wake_tag);
    watch(listen_fd, EPOLLIN | EPOLLEXCLUSIVE, &listen_tag);
  }
  ~Loop() {
    drop_all();
    close(event_fd);
    close(epoll_fd);
  }

  void watch(int fd, uint32_t events, void* tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl");
  }

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = write(event_fd, &one, sizeof one);
  }

  void run(const std::atomic<bool>& stopping) {
    epoll_event events[kMaxEvents];
    // Wake at least this often to close idle connections and resume a paused listener.
    auto tick = std::min<std::chrono::milliseconds>(idle_timeout, std::chrono::seconds(1));
    auto next_sweep = Clock::now() + tick;
    while (!stopping.load()) {
      auto timeout = accept_paused ? kAcceptPause : tick;
      int n = epoll_wait(epoll_fd, events, kMaxEvents, static_cast<int>(timeout.count()));
      if (n < 0 && errno != EINTR) break;
      auto now = Clock::now();
      if (accept_paused && now >= resume_accept) {
        watch(listen_fd, EPOLLIN | EPOLLEXCLUSIVE, &listen_tag);
        accept_paused = false;
      }
      if (now >= next_sweep) {
        close_idle(now);
        next_sweep = now + tick;
      }
      for (int i = 0; i < n; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == &listen_tag) {
          accept_clients();
        } else if (tag != &wake_tag) {
          on_client(static_cast<Client*>(tag), events[i].events);
        }
      }
    }
    drop_all();
  }

  void accept_clients() {
    for (int i = 0; i < kAcceptsPerWakeup; ++i) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // The connection stays in the backlog; listening on would wake this loop at once.
          epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
          accept_paused = true;
          resume_accept = Clock::now() + kAcceptPause;
        }
        return;  // EAGAIN: another loop took it
      }
      if (tcp) {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      }
      auto client = std::make_unique<Client>(fd, steps);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = client.get();
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        continue;
      }
      clients.emplace(fd, std::move(client));
    }
  }

  void on_client(Client* c, uint32_t events) {
    if (c->waiting_out) {
      if ((events & (EPOLLERR | EPOLLHUP)) != 0) return drop(c);
      if ((events & EPOLLOUT) != 0) flush(c);
      return;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) return;
    ssize_t n = read(c->fd, buffer.get(), kReadSize);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return drop(c);  // EOF or error: the MTA is gone
    c->last_read = Clock::now();
    if (!c->conn.feed(std::string_view(buffer.get(), static_cast<size_t>(n)))) c->closing = true;
    flush(c);
  }

  // Writes the pending output; on EAGAIN waits for EPOLLOUT (and reads nothing meanwhile: the
  // MTA waits for our replies anyway).
  void flush(Client* c) {
    std::string& out = c->conn.output();
    while (c->written < out.size()) {
      ssize_t n = send(c->fd, out.data() + c->written, out.size() - c->written, MSG_NOSIGNAL);
      if (n >= 0) {
        c->written += static_cast<size_t>(n);
      } else if (errno == EAGAIN) {
        if (!c->waiting_out) set_events(c, EPOLLOUT);
        c->waiting_out = true;
        return;
      } else if (errno != EINTR) {
        return drop(c);
      }
    }
    out.clear();
    c->written = 0;
    if (c->closing) return drop(c);
    if (c->waiting_out) set_events(c, EPOLLIN);
    c->waiting_out = false;
  }

  void set_events(Client* c, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = c;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
  }

  // Ends the filter session and closes the socket; `c` is gone afterwards.
  void drop(Client* c) {
    int fd = c->fd;
    c->conn.end();
    close(fd);
    clients.erase(fd);
  }

  // Closes connections the MTA left silent past the idle timeout, as libmilter does.
  void close_idle(Clock::time_point now) {
    std::vector<Client*> idle;
    for (auto& entry : clients)
      if (now - entry.second->last_read > idle_timeout) idle.push_back(entry.second.get());
    for (auto* c : idle) drop(c);
  }

  void drop_all() {
    for (auto& entry : clients) {
      entry.second->conn.end();
      close(entry.first);
    }
    clients.clear();
  }

  int listen_fd;
  const FilterSteps& steps;
  bool tcp;
  std::chrono::milliseconds idle_timeout;
  bool accept_paused = false;
  Clock::time_point resume_accept{};
  int epoll_fd = -1;
  int event_fd = -1;
  std::unique_ptr<char[]> buffer{new char[kReadSize]};
  std::unordered_map<int, std::unique_ptr<Client>> clients;
};

NativeServer::NativeServer(int listen_fd, unsigned threads, const FilterSteps& steps,
                           std::chrono::milliseconds idle_timeout)
    : listen_fd_(listen_fd), steps_(steps), idle_timeout_(idle_timeout) {
  bool tcp = is_tcp(listen_fd);
  for (unsigned i = 0; i < std::max(1u, threads); ++i)
    loops_.push_back(std::make_unique<Loop>(listen_fd_, steps_, tcp, idle_timeout_));
}

NativeServer::~NativeServer() = default;

void NativeServer::run() {
  std::vector<std::thread> others;
  try {
    for (size_t i = 1; i < loops_.size(); ++i)
      others.emplace_back([this, i] { loops_[i]->run(stopping_); });
  } catch (...) {
    stop();
    for (auto& t : others) t.join();
    throw;
  }
  loops_[0]->run(stopping_);
  for (auto& t : others) t.join();
}

void NativeServer::stop() {
  stopping_.store(true);
  for (auto& loop : loops_) loop->wake();
}

ListenSpec parse_listen_spec(const std::string& spec) {
  auto fail = [&](const char* why) {
    return std::runtime_error("milter socket '" + spec + "': " + why);
  };
  ListenSpec s;
  auto colon = spec.find(':');
  std::string scheme = colon == std::string::npos ? "" : spec.substr(0, colon);
  std::string rest = colon == std::string::npos ? spec : spec.substr(colon + 1);
  if (scheme.empty() && spec.starts_with("/")) scheme = "unix";
  if (scheme == "unix" || scheme == "local") {
    s.path = rest;
    sockaddr_un sun{};
    if (s.path.empty() || s.path.size() >= sizeof sun.sun_path) throw fail("bad socket path");
    return s;
  }
  if (scheme == "inet") {
    s.kind = ListenSpec::Kind::inet;
  } else if (scheme == "inet6") {
    s.kind = ListenSpec::Kind::inet6;
  } else {
    throw fail("expected unix:/path, inet:PORT@HOST or inet6:PORT@HOST");
  }
  auto at = rest.find('@');
  s.port = rest.substr(0, at);
  if (at != std::string::npos) s.host = rest.substr(at + 1);
  if (s.host.size() >= 2 && s.host.front() == '[' && s.host.back() == ']')
    s.host = s.host.substr(1, s.host.size() - 2);
  bool numeric = !s.port.empty() && s.port.size() <= 5 &&
                 s.port.find_first_not_of("0123456789") == std::string::npos;
  if (!numeric || std::stoul(s.port) > 65535) throw fail("bad port");
  return s;
}

namespace {

int bind_and_listen(int family, const sockaddr* addr, socklen_t len, const std::string& spec) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("milter socket '" + spec + "': " + std::strerror(errno));
  if (family != AF_UNIX) {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  }
  if (bind(fd, addr, len) != 0 || listen(fd, 256) != 0) {
    int err = errno;
    close(fd);
    throw std::runtime_error("milter socket '" + spec + "': " + std::strerror(err));
  }
  return fd;
}

}  // namespace

int open_native_listener(const std::string& spec) {
  ListenSpec s = parse_listen_spec(spec);
  if (s.kind == ListenSpec::Kind::unix_path) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, s.path.data(), s.path.size());
    struct stat st {};
    if (lstat(s.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(s.path.c_str());
    return bind_and_listen(AF_UNIX, reinterpret_cast<const sockaddr*>(&sun), sizeof sun, spec);
  }
  addrinfo hints{};
  hints.ai_family = s.kind == ListenSpec::Kind::inet ? AF_INET : AF_INET6;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(s.host.empty() ? nullptr : s.host.c_str(), s.port.c_str(), &hints, &found);
  if (rc != 0) throw std::runtime_error("milter socket '" + spec + "': " + gai_strerror(rc));
  try {
    int fd = bind_and_listen(found->ai_family, found->ai_addr, found->ai_addrlen, spec);
    freeaddrinfo(found);
    return fd;
  } catch (...) {
    freeaddrinfo(found);
    throw;
  }
}

}  // namespace agentgate::milter::native
