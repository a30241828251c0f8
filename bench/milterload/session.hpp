// One MTA-to-milter connection driven the way Postfix's milter8.c drives it: OPTNEG, CONNECT,
// HELO, then per message MAIL, RCPT..., DATA, headers, EOH, body chunks, end of body, ABORT;
// QUIT at the end. Each step is sent with its macro packet, skipped when the milter negotiated
// it away (SMFIP_NO*: the macro packet still goes, as in milter8_event), not waited for under
// SMFIP_NR_*, and skipped after SMFIR_SKIP until another step comes. Any reply Postfix would
// treat as an error is counted in the ErrorLog and closes the connection. Runs as coroutines on
// one EventLoop thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "macros.hpp"
#include "message.hpp"
#include "outcome.hpp"
#include "packet_stream.hpp"
#include "stats.hpp"
#include "task.hpp"

namespace agentgate::bench {

struct SessionSettings {
  Endpoint endpoint;
  std::string helo = "bench.example";
  ConnectionMacros macros;  // client_port is filled per connection
  int timeout_seconds = 30;
};

class Session {
 public:
  enum class Result { ok, ended, error };

  Session(const SessionSettings& settings, ErrorLog& errors, EventLoop& loop)
      : settings_(settings), errors_(errors), stream_(loop) {}

  // Connects and negotiates, then sends CONNECT and HELO. ended: the milter answered those with
  // a final reply, recorded in `outcome`, and the connection is closed (as Postfix does).
  Task<Result> open(uint16_t client_port, MessageOutcome& outcome);
  // Sends one message and reads its final reply into `outcome`; ABORT follows it in the
  // output buffer. error: recorded in the ErrorLog, the connection is closed.
  Task<Result> send_message(const PreparedMessage& message, std::string_view queue_id,
                            MessageOutcome& outcome);
  // Sends QUIT (unless the milter ended the connection) and closes.
  Task<void> quit();

  bool is_open() const { return stream_.is_open(); }
  unsigned messages_sent() const { return messages_sent_; }
  const Negotiation& negotiation() const { return negotiation_; }

 private:
  enum class Step { go_on, final, error };
  struct Event {
    char command;
    uint32_t not_sent;        // SMFIP_NO* flag that disables the step
    uint32_t no_reply;        // SMFIP_NR_* flag that makes it reply-less
    std::string_view macros;  // name\0value\0 pairs for its SMFIC_MACRO packet
    std::string_view packet;
    Stage stage;
  };

  Task<Result> negotiate();
  Task<Step> send_envelope(const PreparedMessage& message, MacroContext& context,
                           MessageOutcome& outcome);
  Task<Step> send_content(const PreparedMessage& message, MacroContext& context,
                          MessageOutcome& outcome);
  Task<Step> event(Event e, MessageOutcome& outcome);
  Task<Step> read_replies(Event e, MessageOutcome& outcome);
  Step final_reply(const Event& e, FinalReply reply, MessageOutcome& outcome);
  bool modification(char command, std::string_view data, MessageOutcome& outcome,
                    std::string& error);
  // Count the error, close the connection.
  Step fail_protocol(char command, std::string_view what);
  Step fail_connection(char command, PacketStream::Status status, std::string_view what);

  const SessionSettings& settings_;
  ErrorLog& errors_;
  PacketStream stream_;
  Negotiation negotiation_;
  MacroPlan plan_;
  ConnectionMacros connection_macros_;
  char skip_command_ = 0;  // step the milter answered with SMFIR_SKIP
  bool connection_ended_ = false;
  unsigned messages_sent_ = 0;
  std::string scratch_;  // macro pairs under construction
  std::string eoh_macros_;
  std::string eod_macros_;
};

}  // namespace agentgate::bench
