// milter_responder: the cheapest milter there can be, to measure the protocol's ceiling and to
// show that milterload can drive more than any real milter. epoll, no libmilter.
// It negotiates away every step it can (SMFIP_NO* for connect, HELO, MAIL, RCPT, DATA,
// unknown, EOH and body; SMFIP_NR_* for all) but keeps receiving the headers, so the MTA still
// does the per-header work a real milter costs it, and answers end of message with "continue".
// It never modifies, rejects or inspects anything; it must answer every step the MTA did not
// agree to leave unanswered.
//
// For the latency floor (bench/run --floor): --threads runs that many event loops on one
// listener, as agentgated's native engine does; --work-us spends that much of the loop's own
// CPU time at end of message before answering, standing in for a milter's work; --rcpt and
// --body ask for RCPT (answered) and the body, agentgated's protocol shape. --fifo puts the
// end-of-message work in one queue shared by the loops, taken oldest first, instead of each
// loop working through its own connections' messages: what one global run queue would do to
// the latency tail.
//
// Usage: milter_responder -p SOCKSPEC [--no-headers] [--body] [--rcpt] [--threads N]
//                         [--work-us N] [--fifo]
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

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
  Connection(int f, const void* loop) : fd(f), owner(loop) {}
  std::mutex io;  // the socket's writes and its close; with --fifo another loop writes too
  int fd;
  const void* owner;  // the loop that accepted it
  bool closed = false;
  std::string in;
  std::string out;
  uint32_t protocol = 0;  // as agreed with the MTA
  bool waiting_to_write = false;
  bool end_of_message = false;  // --fifo: a message awaits its end-of-message work
};

// --fifo: the connections whose end of message awaits its work, oldest first, shared by all
// loops. `ready` (an EFD_SEMAPHORE eventfd, watched with EPOLLEXCLUSIVE) counts them, so a
// push wakes one idle loop.
class EomQueue {
 public:
  EomQueue() : ready_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) {
    if (ready_ < 0) throw std::runtime_error(std::string("eventfd: ") + strerror(errno));
  }
  EomQueue(const EomQueue&) = delete;
  EomQueue& operator=(const EomQueue&) = delete;
  ~EomQueue() { close(ready_); }

  int ready_fd() const { return ready_; }

  void push(std::shared_ptr<Connection> c) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(c));
    }
    uint64_t one = 1;
    [[maybe_unused]] auto n = write(ready_, &one, sizeof one);
  }

  // The oldest waiting connection (null if none); `more`: whether others still wait.
  std::shared_ptr<Connection> pop(bool& more) {
    std::shared_ptr<Connection> c;
    {
      std::lock_guard lock(mutex_);
      if (!queue_.empty()) {
        c = std::move(queue_.front());
        queue_.pop_front();
      }
      more = !queue_.empty();
    }
    if (c) {
      uint64_t count = 0;
      [[maybe_unused]] auto n = read(ready_, &count, sizeof count);  // takes one
    }
    return c;
  }

 private:
  int ready_;
  std::mutex mutex_;
  std::deque<std::shared_ptr<Connection>> queue_;
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

// Spends `us` microseconds of this thread's CPU time (time it is preempted does not count).
void burn(unsigned us) {
  if (us == 0) return;
  auto cpu_ns = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<long long>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  };
  auto until = cpu_ns() + static_cast<long long>(us) * 1000;
  while (cpu_ns() < until) {
  }
}

// Answers the complete packets in c.in; false when the connection must close. With `deferred`
// (--fifo) end of message only marks the connection; its work and reply come from the queue.
bool answer(Connection& c, uint32_t wanted, unsigned work_us, bool deferred) {
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
        if (deferred) {
          c.end_of_message = true;
          break;
        }
        burn(work_us);
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
bool write_pending(Connection& c) {
  std::lock_guard lock(c.io);
  while (!c.out.empty() && !c.closed) {
    ssize_t n = write(c.fd, c.out.data(), c.out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

struct Options {
  uint32_t wanted = 0;
  unsigned work_us = 0;
  bool fifo = false;
};

// One event loop. All loops watch the same listener (EPOLLEXCLUSIVE: one wakes per
// connection) and an eventfd that tells them to stop.
class Loop {
 public:
  Loop(const Endpoint& endpoint, int listener, int stop, Options options, EomQueue* queue)
      : endpoint_(endpoint), listener_(listener), stop_(stop), options_(options), queue_(queue) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + strerror(errno));
    watch(listener_, EPOLLIN | EPOLLEXCLUSIVE, EPOLL_CTL_ADD);
    watch(stop, EPOLLIN, EPOLL_CTL_ADD);
    if (queue_ != nullptr) watch(queue_->ready_fd(), EPOLLIN | EPOLLEXCLUSIVE, EPOLL_CTL_ADD);
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  ~Loop() {
    for (auto& [fd, c] : connections_) close_connection(*c);
    close(epoll_);
  }

  // With --fifo each turn does at most one queued end of message, then polls again without
  // waiting while the queue is not empty: replies to RCPT and new connections are not held up
  // behind a run of end-of-message work.
  void run() {
    epoll_event events[64];
    bool queued = false;
    for (;;) {
      int n = epoll_wait(epoll_, events, 64, queued ? 0 : -1);
      if (n < 0 && errno == EINTR) continue;
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == stop_) return;
        if (fd == listener_) {
          accept_all();
        } else if (queue_ == nullptr || fd != queue_->ready_fd()) {
          service(fd, events[i].events);
        }
      }
      if (queue_ != nullptr) queued = end_one_message();
    }
  }

  unsigned long accepted() const { return accepted_; }
  unsigned long queued_done() const { return queued_done_; }        // --fifo: messages ended
  unsigned long queued_foreign() const { return queued_foreign_; }  // ... for another loop

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
      if (fd < 0) return;  // EAGAIN: none left, or another loop took it
      if (endpoint_.family != AF_UNIX) {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      }
      connections_[fd] = std::make_shared<Connection>(fd, this);
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
      ++accepted_;
    }
  }

  // --fifo: the oldest queued end of message, from whichever loop: its work, then its reply.
  // The MTA sends nothing more until that reply, so the owning loop leaves the connection be;
  // the lock only keeps the reply off a socket the owner closed meanwhile. false: queue empty.
  bool end_one_message() {
    bool more = false;
    auto c = queue_->pop(more);
    if (!c) return more;
    ++queued_done_;
    if (c->owner != this) ++queued_foreign_;
    burn(options_.work_us);
    std::string reply;
    append_packet(reply, SMFIR_CONTINUE, "");
    std::lock_guard lock(c->io);
    for (size_t sent = 0; sent < reply.size() && !c->closed;) {
      ssize_t n = write(c->fd, reply.data() + sent, reply.size() - sent);
      if (n < 0 && errno != EINTR && errno != EAGAIN) break;  // the owner sees the error
      if (n > 0) sent += static_cast<size_t>(n);
    }
    return more;
  }

  static void close_connection(Connection& c) {
    std::lock_guard lock(c.io);
    c.closed = true;
    close(c.fd);  // also leaves the epoll set
  }

  void service(int fd, uint32_t events) {
    auto shared = connections_[fd];
    auto& c = *shared;
    bool keep = true;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      char buf[65536];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        keep = answer(c, options_.wanted, options_.work_us, queue_ != nullptr);
      } else {
        keep = n < 0 && (errno == EAGAIN || errno == EINTR);
      }
    }
    if (keep) keep = write_pending(c);
    if (keep && c.end_of_message) {
      c.end_of_message = false;
      queue_->push(shared);
    }
    if (!keep) {
      connections_.erase(fd);
      close_connection(c);
      return;
    }
    if (c.waiting_to_write != !c.out.empty()) {  // only when it changes: a syscall
      c.waiting_to_write = !c.out.empty();
      watch(fd, c.waiting_to_write ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
    }
  }

  const Endpoint& endpoint_;
  int listener_;
  int stop_;
  int epoll_ = -1;
  Options options_;
  EomQueue* queue_;  // --fifo only
  unsigned long accepted_ = 0;
  unsigned long queued_done_ = 0;
  unsigned long queued_foreign_ = 0;
  std::unordered_map<int, std::shared_ptr<Connection>> connections_;
};

struct Totals {
  unsigned long accepted = 0;        // connections
  unsigned long queued_done = 0;     // --fifo: ends of message taken from the shared queue
  unsigned long queued_foreign = 0;  // ... by a loop other than the connection's
};

// Runs `threads` loops until SIGINT or SIGTERM.
Totals serve(const Endpoint& endpoint, unsigned threads, Options options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: they inherit it
  int listener = listen_on(endpoint, 1024);
  fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
  int stop = eventfd(0, EFD_CLOEXEC);
  std::unique_ptr<EomQueue> queue;
  if (options.fifo) queue = std::make_unique<EomQueue>();
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::thread> running;
  for (unsigned i = 0; i < threads; ++i)
    loops.push_back(std::make_unique<Loop>(endpoint, listener, stop, options, queue.get()));
  auto stop_all = [stop] {
    uint64_t one = 1;
    [[maybe_unused]] auto n = write(stop, &one, sizeof one);  // level-triggered: wakes every loop
  };
  try {
    for (auto& loop : loops) running.emplace_back([&l = *loop] { l.run(); });
  } catch (...) {  // a thread that could not start: stop the others before giving up
    stop_all();
    for (auto& t : running) t.join();
    throw;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  stop_all();
  Totals totals;
  for (size_t i = 0; i < loops.size(); ++i) {
    running[i].join();
    totals.accepted += loops[i]->accepted();
    totals.queued_done += loops[i]->queued_done();
    totals.queued_foreign += loops[i]->queued_foreign();
  }
  loops.clear();
  close(stop);
  close(listener);
  if (!endpoint.unix_path.empty()) unlink(endpoint.unix_path.c_str());
  return totals;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"milter_responder: an epoll milter that answers only end of message"};
  std::string spec;
  bool no_headers = false;
  bool body = false;
  bool rcpt = false;
  unsigned threads = 1;
  Options options;
  app.add_option("-p,--socket", spec, "unix:/path or inet:PORT@HOST")->required();
  app.add_flag("--no-headers", no_headers, "negotiate SMFIP_NOHDRS too");
  app.add_flag("--body", body, "receive the body (no SMFIP_NOBODY)");
  app.add_flag("--rcpt", rcpt, "receive RCPT and answer it (no SMFIP_NORCPT, SMFIP_NR_RCPT)");
  app.add_option("-t,--threads", threads, "event loops on the one listener")
      ->check(CLI::Range(1, 256));
  app.add_option("--work-us", options.work_us,
                 "CPU time to spend at end of message before answering, in microseconds")
      ->check(CLI::Range(0, 1'000'000));
  app.add_flag("--fifo", options.fifo,
               "end-of-message work from one queue shared by the loops, oldest first");
  CLI11_PARSE(app, argc, argv);
  uint32_t wanted = kNoReply | kNotSent;
  if (no_headers) wanted |= SMFIP_NOHDRS;
  if (body) wanted &= ~static_cast<uint32_t>(SMFIP_NOBODY);
  if (rcpt) wanted &= ~static_cast<uint32_t>(SMFIP_NORCPT | SMFIP_NR_RCPT);
  options.wanted = wanted;
  try {
    auto totals = serve(resolve_endpoint(spec), threads, options);
    fmt::print(stderr, "milter_responder: {} connections\n", totals.accepted);
    if (options.fifo)
      fmt::print(stderr,
                 "milter_responder: {} ends of message from the shared queue, {} of them for "
                 "another loop's connection\n",
                 totals.queued_done, totals.queued_foreign);
  } catch (const std::exception& e) {
    fmt::print(stderr, "milter_responder: {}\n", e.what());
    return 1;
  }
  return 0;
}
