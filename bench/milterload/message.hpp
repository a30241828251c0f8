// The messages milterload sends: read from a corpus file or synthesised, then pre-serialised
// into the packets Postfix would send for them, so the load loop only copies bytes.
//
// Corpus format: one message after another, each
//   #envelope from=<a@x> rcpt=<b@y>,<c@z> login=agent-1
//   Header: value
//    continuation
//
//   body lines...
//   #end
// ("login=" may be empty or absent; a body line that is exactly "#end" cannot be expressed).
// Load errors throw std::runtime_error naming file and line.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace agentgate::bench {

struct Envelope {
  std::string from;                // bare address ("" for the null sender)
  std::vector<std::string> rcpts;  // bare addresses
  std::string login;               // SASL login; empty = unauthenticated
};

struct Header {
  std::string name;
  std::string value;  // everything after the colon; continuation lines joined by "\n"
};

struct Message {
  Envelope envelope;
  std::vector<Header> headers;
  std::vector<std::string> body_lines;  // without line ends
};

std::vector<Message> load_corpus(const std::string& path);

// 10 headers (From, To, Subject, Message-ID, Date, ...) and a text body, `size` bytes in all
// when written with CRLF line ends.
Message synthetic_message(size_t size, const Envelope& envelope);

// The bytes of one message's packets (each with length and command byte).
struct PreparedMessage {
  Envelope envelope;
  std::string mail_host;                // domain of the sender
  std::vector<std::string> rcpt_hosts;  // domain of each recipient
  std::string mail_packet;              // SMFIC_MAIL "<from>"
  std::vector<std::string> rcpt_packets;
  // SMFIC_HEADER packets; [1] keeps the space after the colon (SMFIP_HDR_LEADSPC).
  std::array<std::vector<std::string>, 2> header_packets;
  std::vector<std::string> body_packets;  // SMFIC_BODY chunks of at most 65535 bytes, CRLF
  size_t size = 0;                        // message bytes as on the wire (CRLF)
};

PreparedMessage prepare(const Message& message);

}  // namespace agentgate::bench
