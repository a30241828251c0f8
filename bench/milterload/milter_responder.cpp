// milter_responder: the cheapest milter there can be, to measure the protocol's ceiling and to
// show that milterload can drive more than any real milter. One thread, epoll, no libmilter.
// It negotiates away every step it can (SMFIP_NO* for connect, HELO, MAIL, RCPT, DATA,
// unknown, EOH and body; SMFIP_NR_* for all) but keeps receiving the headers, so the MTA still
// does the per-header work a real milter costs it, and answers end of message with "continue".
// It never modifies, rejects or inspects anything; it must answer every step the MTA did not
// agree to leave unanswered.
//
// Usage: milter_responder -p SOCKSPEC [--no-headers] [--body]
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <unordered_map>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "protocol.hpp"
#include "socket_spec.hpp"

namespace {

using namespace agentgate::bench;

constexpr uint32_t kNoReply = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
                              SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY |
                              SMFIP_NR_HDR;
constexpr uint32_t kNotSent = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |
                              SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NOEOH | SMFIP_NOBODY;

struct Connection {
  std::string in;
  std::string out;
  uint32_t protocol = 0;  // as agreed with the MTA
  bool waiting_to_write = false;
};

// The SMFIP_NR_* flag that makes `command` reply-less; 0 if it always needs an answer.
uint32_t no_reply_flag(char command) {
  switch (command) {
    case SMFIC_CONNECT:
      return SMFIP_NR_CONN;
    case SMFIC_HELO:
      return SMFIP_NR_HELO;
    case SMFIC_MAIL:
      return SMFIP_NR_MAIL;
    case SMFIC_RCPT:
      return SMFIP_NR_RCPT;
    case SMFIC_DATA:
      return SMFIP_NR_DATA;
    case SMFIC_UNKNOWN:
      return SMFIP_NR_UNKN;
    case SMFIC_HEADER:
      return SMFIP_NR_HDR;
    case SMFIC_EOH:
      return SMFIP_NR_EOH;
    case SMFIC_BODY:
      return SMFIP_NR_BODY;
    default:
      return 0;
  }
}

// Answers the complete packets in c.in; false when the connection must close.
bool answer(Connection& c, uint32_t wanted) {
  size_t pos = 0;
  bool keep = true;
  while (keep && c.in.size() - pos >= 4) {
    uint32_t length = read_be32(c.in.data() + pos);
    if (length < 1 || length > kMaxReplyLength) return false;
    if (c.in.size() - pos < 4 + size_t{length}) break;
    char command = c.in[pos + 4];
    const char* data = c.in.data() + pos + 5;
    pos += 4 + size_t{length};
    switch (command) {
      case SMFIC_OPTNEG: {
        if (length - 1 < MILTER_OPTLEN) return false;
        uint32_t version = read_be32(data);
        c.protocol = read_be32(data + 8) & wanted;
        std::string reply;
        append_be32(reply, version < kMtaVersion ? version : kMtaVersion);
        append_be32(reply, 0);  // no actions
        append_be32(reply, c.protocol);
        append_packet(c.out, SMFIC_OPTNEG, reply);
        break;
      }
      case SMFIC_MACRO:
      case SMFIC_ABORT:
      case SMFIC_QUIT_NC:
        break;
      case SMFIC_QUIT:
        keep = false;
        break;
      case SMFIC_BODYEOB:
        append_packet(c.out, SMFIR_CONTINUE, "");
        break;
      default:
        if (no_reply_flag(command) == 0) return false;  // not a command we know
        if ((c.protocol & no_reply_flag(command)) == 0) append_packet(c.out, SMFIR_CONTINUE, "");
    }
  }
  c.in.erase(0, pos);
  return keep;
}

// Writes what is pending; false on error. Leftovers wait for EPOLLOUT.
bool write_pending(int fd, Connection& c) {
  while (!c.out.empty()) {
    ssize_t n = write(fd, c.out.data(), c.out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

class Server {
 public:
  Server(const Endpoint& endpoint, uint32_t wanted) : endpoint_(endpoint), wanted_(wanted) {
    listener_ = listen_on(endpoint, 1024);
    fcntl(listener_, F_SETFL, fcntl(listener_, F_GETFL) | O_NONBLOCK);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    signals_ = signalfd(-1, &signals, SFD_CLOEXEC);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    watch(listener_, EPOLLIN, EPOLL_CTL_ADD);
    watch(signals_, EPOLLIN, EPOLL_CTL_ADD);
  }

  ~Server() {
    for (auto& [fd, c] : connections_) close(fd);
    close(listener_);
    if (!endpoint_.unix_path.empty()) unlink(endpoint_.unix_path.c_str());
  }

  void run() {
    epoll_event events[64];
    for (;;) {
      int n = epoll_wait(epoll_, events, 64, -1);
      if (n < 0 && errno == EINTR) continue;
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == signals_) return;
        if (fd == listener_) {
          accept_all();
        } else {
          service(fd, events[i].events);
        }
      }
    }
  }

  unsigned long accepted() const { return accepted_; }

 private:
  void watch(int fd, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(epoll_, op, fd, &ev);
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (endpoint_.family != AF_UNIX) {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      }
      connections_[fd] = Connection{};
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
      ++accepted_;
    }
  }

  void service(int fd, uint32_t events) {
    auto& c = connections_[fd];
    bool keep = true;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      char buf[65536];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        keep = answer(c, wanted_);
      } else {
        keep = n < 0 && (errno == EAGAIN || errno == EINTR);
      }
    }
    if (keep) keep = write_pending(fd, c);
    if (!keep) {
      connections_.erase(fd);
      close(fd);  // also leaves the epoll set
      return;
    }
    if (c.waiting_to_write != !c.out.empty()) {  // only when it changes: a syscall
      c.waiting_to_write = !c.out.empty();
      watch(fd, c.waiting_to_write ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
    }
  }

  Endpoint endpoint_;
  uint32_t wanted_;
  int listener_ = -1;
  int signals_ = -1;
  int epoll_ = -1;
  unsigned long accepted_ = 0;
  std::unordered_map<int, Connection> connections_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"milter_responder: an epoll milter that answers only end of message"};
  std::string spec;
  bool no_headers = false;
  bool body = false;
  app.add_option("-p,--socket", spec, "unix:/path or inet:PORT@HOST")->required();
  app.add_flag("--no-headers", no_headers, "negotiate SMFIP_NOHDRS too");
  app.add_flag("--body", body, "receive the body (no SMFIP_NOBODY)");
  CLI11_PARSE(app, argc, argv);
  uint32_t wanted = kNoReply | kNotSent;
  if (no_headers) wanted |= SMFIP_NOHDRS;
  if (body) wanted &= ~static_cast<uint32_t>(SMFIP_NOBODY);
  try {
    Server server(resolve_endpoint(spec), wanted);
    server.run();
    fmt::print(stderr, "milter_responder: {} connections\n", server.accepted());
  } catch (const std::exception& e) {
    fmt::print(stderr, "milter_responder: {}\n", e.what());
    return 1;
  }
  return 0;
}
