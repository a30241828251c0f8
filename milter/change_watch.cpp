// Waiting on the store's change feed with Asio.
#include "milter/change_watch.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "milter/runtime.hpp"

namespace agentgate::milter {

ChangeWatch::ChangeWatch(boost::asio::io_context& io, RegistryCache& registry,
                         std::function<bool()> poll)
    : io_(io), registry_(registry), poll_(std::move(poll)) {}

ChangeWatch::~ChangeWatch() {
  registry_.set_pushed(false);
}

void ChangeWatch::ensure() {
  if (!supported_ || feed_ || std::chrono::steady_clock::now() < next_try_) return;
  try {
    feed_ = registry::open_change_feed(registry_.url());
    if (!feed_) {
      supported_ = false;
      return;
    }
    // Asio closes what it owns: give it a duplicate, never the store client's own socket.
    int fd = ::dup(feed_->socket());
    if (fd < 0) throw std::runtime_error("dup of the change feed's socket failed");
    try {
      fd_.emplace(io_, fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
    // Catch up with whatever was committed while no feed was listening. Only a snapshot
    // known to be current may be trusted on announcements alone.
    if (!poll_()) throw std::runtime_error("the catch-up read of the registry failed");
    registry_.set_pushed(true);
    log_info("registry change feed connected: changes are pushed to this daemon");
    last_error_.clear();
    wait();
  } catch (const std::exception& e) {
    drop(e.what());
  }
}

void ChangeWatch::wait() {
  fd_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                  [this](boost::system::error_code ec) {
                    if (ec == boost::asio::error::operation_aborted || !feed_) return;
                    try {
                      if (ec) throw std::runtime_error(ec.message());
                      if (auto generation = feed_->drain()) {
                        registry_.count_notification();
                        registry_.announce(*generation);
                        poll_();  // a failure leaves announced > snapshot: EOM reads the store
                      }
                      wait();
                    } catch (const std::exception& e) {
                      drop(e.what());
                    }
                  });
}

void ChangeWatch::drop(const std::string& why) {
  registry_.set_pushed(false);  // first: end of message reads the generation again
  fd_.reset();
  feed_.reset();
  next_try_ = std::chrono::steady_clock::now() + kRetry;
  if (why != last_error_)
    log_error(
        fmt::format("registry change feed unavailable ({}); end of message reads the "
                    "generation from the store until it reconnects",
                    why));
  last_error_ = why;
}

}  // namespace agentgate::milter
