// The epoll loop (see event_loop.hpp).
#include "event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace agentgate::bench {
namespace {

constexpr int kTickMs = 100;
constexpr int kMaxEvents = 256;

void resume_waiter(Channel& c) {
  auto waiter = c.waiter;
  c.waiter = {};
  waiter.resume();
}

}  // namespace

EventLoop::EventLoop() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

EventLoop::~EventLoop() {
  close(epoll_);
}

int EventLoop::add(Channel& channel) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &channel;
  channel.readable = channel.writable = false;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, channel.fd, &ev) < 0) return -errno;
  channels_.push_back(&channel);
  return 0;
}

void EventLoop::remove(Channel& channel) {
  // No EPOLL_CTL_DEL: closing the fd (never duplicated) takes it out of the epoll set.
  channels_.erase(std::remove(channels_.begin(), channels_.end(), &channel), channels_.end());
}

Task<void> EventLoop::track(Task<void> task) {
  co_await task;
  --running_;
}

void EventLoop::run(std::vector<Task<void>> tasks) {
  std::vector<Task<void>> tracked;
  tracked.reserve(tasks.size());
  for (auto& t : tasks) tracked.push_back(track(std::move(t)));
  running_ = tracked.size();
  for (auto& t : tracked) t.start();
  last_expiry_check_ = Clock::now();
  epoll_event events[kMaxEvents];
  std::vector<Channel*> ready;
  while (running_ > 0) {
    int n = epoll_wait(epoll_, events, kMaxEvents, kTickMs);
    if (n < 0 && errno != EINTR)
      throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
    // Note every edge first, then resume: a resumed coroutine may close and reopen sockets.
    ready.clear();
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Channel*>(events[i].data.ptr);
      uint32_t e = events[i].events;
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->readable = true;
      if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) c->writable = true;
      ready.push_back(c);
    }
    for (auto* c : ready)
      if (c->waiter && (c->waiting_for_write ? c->writable : c->readable)) resume_waiter(*c);
    if (Clock::now() - last_expiry_check_ >= std::chrono::milliseconds(kTickMs)) expire_waits();
  }
}

void EventLoop::expire_waits() {
  auto now = last_expiry_check_ = Clock::now();
  // Copy: resumed coroutines add and remove channels.
  std::vector<Channel*> expired;
  for (auto* c : channels_)
    if (c->waiter && c->deadline <= now) expired.push_back(c);
  for (auto* c : expired) {
    if (!c->waiter) continue;
    c->timed_out = true;
    resume_waiter(*c);
  }
}

}  // namespace agentgate::bench
