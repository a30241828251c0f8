// Task<T>: a lazily started C++20 coroutine that a caller co_awaits, so that the session code
// reads top to bottom while an event loop multiplexes many connections on one thread.
// Completion resumes the awaiting coroutine directly (symmetric transfer: no stack growth).
// There are no exceptions on the load path; one escaping a coroutine terminates the program.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace agentgate::bench {

template <typename T>
class Task;

namespace detail {

struct PromiseBase {
  std::coroutine_handle<> continuation;

  std::suspend_always initial_suspend() noexcept { return {}; }
  auto final_suspend() noexcept {
    struct ResumeCaller {
      std::coroutine_handle<> next;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<>) noexcept { return next; }
      void await_resume() noexcept {}
    };
    return ResumeCaller{continuation ? continuation : std::noop_coroutine()};
  }
  void unhandled_exception() noexcept { std::terminate(); }
};

}  // namespace detail

template <typename T>
class Task {
 public:
  struct promise_type : detail::PromiseBase {
    std::optional<T> value;
    Task get_return_object() { return Task(Handle::from_promise(*this)); }
    void return_value(T v) { value = std::move(v); }
  };
  using Handle = std::coroutine_handle<promise_type>;

  explicit Task(Handle h) : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    handle_.promise().continuation = caller;
    return handle_;
  }
  T await_resume() { return std::move(*handle_.promise().value); }

 private:
  Handle handle_;
};

template <>
class Task<void> {
 public:
  struct promise_type : detail::PromiseBase {
    Task get_return_object() { return Task(Handle::from_promise(*this)); }
    void return_void() {}
  };
  using Handle = std::coroutine_handle<promise_type>;

  explicit Task(Handle h) : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    handle_.promise().continuation = caller;
    return handle_;
  }
  void await_resume() noexcept {}

  // For the event loop's root tasks: start without an awaiting caller.
  void start() { handle_.resume(); }
  bool done() const { return handle_.done(); }

 private:
  Handle handle_;
};

}  // namespace agentgate::bench
