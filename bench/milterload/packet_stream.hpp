// Packet I/O on one MTA-to-milter connection, non-blocking on an EventLoop. Like Postfix's
// double-buffered VSTREAM, commands collect in an output buffer and go out in one write when a
// reply is awaited (or when more than 64 KiB are pending, e.g. a large body under
// SMFIP_NR_BODY); replies are read in large reads and split into packets. Every wait times out
// after the configured seconds (Postfix: milter_command_timeout, 30 s).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "event_loop.hpp"
#include "socket_spec.hpp"
#include "task.hpp"

namespace agentgate::bench {

class PacketStream {
 public:
  enum class Status { ok, closed, io_error, bad_packet };
  struct Packet {
    char command = 0;
    std::string_view data;  // valid until the next read()
  };

  explicit PacketStream(EventLoop& loop) : loop_(loop) {}
  PacketStream(const PacketStream&) = delete;
  PacketStream& operator=(const PacketStream&) = delete;
  ~PacketStream() { close(); }

  // 0, or -errno when the connection cannot be made.
  Task<int> open(const Endpoint& endpoint, int timeout_seconds);
  bool is_open() const { return channel_.fd >= 0; }
  void close();

  // Packets to send; flush() or read() sends them.
  std::string& out() { return out_; }
  bool should_flush() const;
  Task<Status> flush(std::string& error);
  // Flushes pending output, then reads one packet.
  Task<Status> read(Packet& packet, std::string& error);

 private:
  Task<Status> receive(std::string& error);

  EventLoop& loop_;
  Channel channel_;
  Clock::duration timeout_{};
  std::string out_;
  std::vector<char> in_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace agentgate::bench
