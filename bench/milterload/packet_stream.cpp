// Non-blocking packet I/O (see packet_stream.hpp).
#include "packet_stream.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "protocol.hpp"

namespace agentgate::bench {
namespace {

constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kFlushThreshold = 64 * 1024;

std::string errno_text(std::string_view what, int err) {
  return fmt::format("{}: {}", what, std::strerror(err));
}

}  // namespace

Task<int> PacketStream::open(const Endpoint& endpoint, int timeout_seconds) {
  close();
  timeout_ = std::chrono::seconds(timeout_seconds);
  int fd = socket(endpoint.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return -errno;
  channel_.fd = fd;
  if (int rc = loop_.add(channel_); rc < 0) {
    ::close(fd);
    channel_.fd = -1;
    co_return rc;
  }
  const auto* address = reinterpret_cast<const sockaddr*>(&endpoint.address);
  int rc = connect(fd, address, endpoint.address_len);
  if (rc < 0 && errno == EINPROGRESS) {  // TCP: connected when writable
    if (!co_await loop_.writable(channel_, timeout_)) {
      close();
      co_return -ETIMEDOUT;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : (errno = err, -1);
  } else if (rc < 0 && errno == EAGAIN) {
    // A unix socket whose listen queue is full: wait for room the blocking way (rare).
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    rc = connect(fd, address, endpoint.address_len);
    int saved = errno;
    fcntl(fd, F_SETFL, flags);
    errno = saved;
  }
  if (rc < 0) {
    int err = errno;
    close();
    co_return -err;
  }
  if (in_.size() < kReadSize) in_.resize(kReadSize);
  co_return 0;
}

void PacketStream::close() {
  if (channel_.fd >= 0) {
    loop_.remove(channel_);
    ::close(channel_.fd);
  }
  channel_.fd = -1;
  out_.clear();
  begin_ = end_ = 0;
}

bool PacketStream::should_flush() const {
  return out_.size() > kFlushThreshold;
}

Task<PacketStream::Status> PacketStream::flush(std::string& error) {
  size_t done = 0;
  while (done < out_.size()) {
    ssize_t n = send(channel_.fd, out_.data() + done, out_.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      channel_.writable = false;
      if (!co_await loop_.writable(channel_, timeout_)) {
        error = "write timed out";
        co_return Status::io_error;
      }
    } else if (n < 0 && errno != EINTR) {
      error = errno_text("write", errno);
      co_return Status::io_error;
    }
  }
  out_.clear();
  co_return Status::ok;
}

// One read of whatever has arrived, waiting for an edge if the socket is known to be drained.
Task<PacketStream::Status> PacketStream::receive(std::string& error) {
  for (;;) {
    if (!channel_.readable && !co_await loop_.readable(channel_, timeout_)) {
      error = "reply timed out";
      co_return Status::io_error;
    }
    size_t room = in_.size() - end_;
    ssize_t n = ::read(channel_.fd, in_.data() + end_, room);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      // A short read from a stream socket drained it: the next arrival brings a new edge.
      if (static_cast<size_t>(n) < room) channel_.readable = false;
      co_return Status::ok;
    }
    if (n == 0) {
      error = "milter closed the connection";
      co_return Status::closed;
    }
    if (errno == EAGAIN) {
      channel_.readable = false;
    } else if (errno != EINTR) {
      error = errno_text("read", errno);
      co_return Status::io_error;
    }
  }
}

Task<PacketStream::Status> PacketStream::read(Packet& packet, std::string& error) {
  if (!out_.empty()) {
    if (auto s = co_await flush(error); s != Status::ok) co_return s;
  }
  for (;;) {
    size_t have = end_ - begin_;
    size_t need = 4;
    if (have >= 4) {
      uint32_t length = read_be32(in_.data() + begin_);
      if (length < 1 || length > kMaxReplyLength) {
        error = fmt::format("bad reply packet length {}", length);
        co_return Status::bad_packet;
      }
      need = 4 + size_t{length};
      if (have >= need) {
        packet.command = in_[begin_ + 4];
        packet.data = std::string_view(in_.data() + begin_ + 5, length - 1);
        begin_ += need;
        co_return Status::ok;
      }
    }
    if (begin_ > 0) {  // keep the unread bytes at the front
      std::memmove(in_.data(), in_.data() + begin_, have);
      begin_ = 0;
      end_ = have;
    }
    if (in_.size() < need) in_.resize(need);
    if (auto s = co_await receive(error); s != Status::ok) co_return s;
  }
}

}  // namespace agentgate::bench
