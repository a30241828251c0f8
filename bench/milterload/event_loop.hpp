// One epoll loop per generator thread, multiplexing many milter connections so that a reply
// costs the generator one read() instead of a sleep and a wake-up per connection thread.
//
// Sockets are registered once, edge-triggered. A Channel remembers what the edges said
// (`readable`: there may be unread bytes); a coroutine waits only after the socket answered
// EAGAIN or a short read, so no edge is lost and nothing spins. Waits time out at a deadline
// (checked every 100 ms). Resumption happens on the loop's thread only.
#pragma once

#include <chrono>
#include <coroutine>
#include <vector>

#include "task.hpp"

namespace agentgate::bench {

using Clock = std::chrono::steady_clock;

struct Channel {
  int fd = -1;
  bool readable = false;  // an edge arrived since the last EAGAIN or short read
  bool writable = false;  // an EPOLLOUT edge arrived since the last EAGAIN
  std::coroutine_handle<> waiter;
  bool waiting_for_write = false;
  bool timed_out = false;
  Clock::time_point deadline;
};

class EventLoop {
 public:
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Watches channel.fd (edge-triggered, in and out); -errno on failure.
  int add(Channel& channel);
  // Forgets the channel; call before closing its fd, which must not have been duplicated.
  void remove(Channel& channel);

  struct Wait {
    Channel& channel;
    bool for_write;
    Clock::time_point deadline;
    bool await_ready() const noexcept { return for_write ? channel.writable : channel.readable; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      channel.waiter = h;
      channel.waiting_for_write = for_write;
      channel.timed_out = false;
      channel.deadline = deadline;
    }
    // false: the deadline passed first.
    bool await_resume() noexcept {
      channel.waiter = {};
      return !channel.timed_out;
    }
  };
  Wait readable(Channel& c, Clock::duration timeout) { return {c, false, Clock::now() + timeout}; }
  Wait writable(Channel& c, Clock::duration timeout) { return {c, true, Clock::now() + timeout}; }

  // Starts the tasks and runs until every one has finished.
  void run(std::vector<Task<void>> tasks);

 private:
  Task<void> track(Task<void> task);
  void expire_waits();

  int epoll_ = -1;
  size_t running_ = 0;
  std::vector<Channel*> channels_;  // registered, for deadline checks
  Clock::time_point last_expiry_check_;
};

}  // namespace agentgate::bench
