// One MTA connection's milter protocol state, without sockets: bytes from the MTA go in, the
// bytes to write back come out. It drives agentgate's filter (filter.hpp) through FilterSteps and
// is the filter's MtaContext: macros as libmilter keeps them, the SMTP reply, end-of-message
// edits. It never blocks and never throws out of feed(); a protocol violation ends the
// connection (the MTA then applies its default action).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "milter/filter.hpp"
#include "milter/native/wire.hpp"

namespace agentgate::milter::native {

// The filter steps the engine calls; tests substitute fakes.
struct FilterSteps {
  decltype(&filter_negotiate) negotiate;
  decltype(&filter_connect) connect;
  decltype(&filter_mail) mail;
  decltype(&filter_rcpt) rcpt;
  decltype(&filter_header) header;
  decltype(&filter_body) body;
  decltype(&filter_eom) eom;
  decltype(&filter_abort) abort;
  decltype(&filter_close) close;
};

// The real filter_* functions (filter_steps.cpp, which links against filter.cpp).
const FilterSteps& default_filter_steps();

class Connection final : public MtaContext {
 public:
  explicit Connection(const FilterSteps& steps) : steps_(steps) {}
  ~Connection() override { end(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Processes the bytes the MTA sent and appends our replies to output(). false once the
  // connection is over (QUIT or a protocol error): write output(), then close the socket.
  bool feed(std::string_view bytes);
  std::string& output() { return out_; }
  bool protocol_error() const { return protocol_error_; }
  // The MTA is gone (EOF, error, shutdown): aborts an open message and ends the filter session.
  // Idempotent; the destructor calls it.
  void end();

  // MtaContext
  Session* session() override { return session_; }
  void set_session(Session* s) override { session_ = s; }
  std::string macro(const char* name) override;
  void request_macros(int stage, const char* names) override;
  void set_reply(const char* rcode, const char* xcode, const std::string& text) override;
  void quarantine(const std::string& reason) override;
  void delete_header(const char* name, int index) override;
  void insert_header(int index, const char* name, const std::string& value) override;

 private:
  using Handler = bool (Connection::*)(const Packet&);
  struct Command {
    char command;
    int stage;           // macro stage the command runs in (kNoStage: none)
    unsigned long skip;  // SMFIP_NO* that takes the filter step away (0: none)
    unsigned long nr;    // SMFIP_NR_* of the step (0: always answered)
    Handler handle;
  };
  static const Command kCommands[];
  static constexpr int kNoStage = -1;

  bool dispatch(const Packet& p);
  bool on_optneg(const Packet& p);
  bool on_macro(const Packet& p);
  bool on_connect(const Packet& p);
  bool on_helo(const Packet& p);
  bool on_mail(const Packet& p);
  bool on_rcpt(const Packet& p);
  bool on_header(const Packet& p);
  bool on_body(const Packet& p);
  bool on_eob(const Packet& p);
  bool on_abort(const Packet& p);
  bool on_quit(const Packet& p);
  bool on_quit_nc(const Packet& p);
  bool on_no_step(const Packet& p);  // DATA, EOH, UNKNOWN: validated, answered, no filter step

  bool filter_skips() const { return (filter_protocol_ & current_->skip) != 0; }
  void answer(Step step);
  void abort_message();
  void end_session();
  void clear_macros(int from_stage);

  const FilterSteps steps_;
  Session* session_ = nullptr;
  std::string out_;
  std::string in_;  // an incomplete packet carried over to the next feed()

  bool negotiated_ = false;
  bool in_message_ = false;    // MAIL seen, not yet ended by EOM or ABORT
  bool session_open_ = false;  // filter_close is owed
  bool in_eom_ = false;        // edits are accepted
  bool stopped_ = false;
  bool protocol_error_ = false;
  uint32_t actions_ = 0;               // SMFIF_* agreed with the MTA
  unsigned long filter_protocol_ = 0;  // SMFIP_* the filter chose
  uint32_t offered_protocol_ = 0;      // SMFIP_* the MTA offered
  uint32_t mta_protocol_ = 0;  // SMFIP_* agreed with the MTA (steps not sent / not answered)
  const Command* current_ = nullptr;
  int stage_ = kNoStage;
  std::string reply_;  // set_reply() text for the current step

  std::array<std::string, kMacroStages> requested_macros_;  // by SMFIM_* stage
  // Macros by stage, in protocol order (connect, helo, mail, rcpt, data, eoh, eom).
  std::array<std::vector<std::pair<std::string, std::string>>, kMacroStages> macros_;
};

}  // namespace agentgate::milter::native
