// agentgate's filter, independent of the milter protocol implementation that drives it. The
// libmilter adapter (callbacks.cpp) and the native engine (native/) both call these steps with
// an MtaContext for the connection; each step is its own exception barrier and never throws.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string>

namespace agentgate::milter {

struct Session;

// What a step tells the MTA. `no_reply` only for a step negotiated SMFIP_NR_*.
enum class Step { cont, no_reply, reject, tempfail, skip };

// The MTA side of one milter connection, as a step sees it.
class MtaContext {
 public:
  virtual ~MtaContext() = default;
  virtual Session* session() = 0;
  virtual void set_session(Session* s) = 0;
  // A macro's value as the MTA sent it for this or an earlier stage; "" when undefined.
  virtual std::string macro(const char* name) = 0;
  // Asked during negotiation: send only these macros at this SMFIM_* stage.
  virtual void request_macros(int stage, const char* names) = 0;
  // The SMTP reply for the reject/tempfail the step returns ("550", "5.7.1", text), text as
  // smfi_setreply takes it: every '%' doubled.
  virtual void set_reply(const char* rcode, const char* xcode, const std::string& text) = 0;
  // End of message only: edits, sent before the final reply.
  virtual void quarantine(const std::string& reason) = 0;
  virtual void delete_header(const char* name, int index) = 0;  // index 1 = first instance
  virtual void insert_header(int index, const char* name, const std::string& value) = 0;
};

// Negotiation: from what the MTA offers (SMFIF_* actions, SMFIP_* steps), what agentgated
// wants; also asks for its macro lists.
void filter_negotiate(MtaContext& m, unsigned long offered_actions, unsigned long offered_steps,
                      unsigned long* actions, unsigned long* steps) noexcept;
Step filter_connect(MtaContext& m, const sockaddr* client) noexcept;
Step filter_mail(MtaContext& m, const char* sender) noexcept;
Step filter_rcpt(MtaContext& m, const char* recipient) noexcept;
Step filter_header(MtaContext& m, const char* name, const char* value) noexcept;
Step filter_body(MtaContext& m, const unsigned char* chunk, std::size_t len) noexcept;
Step filter_eom(MtaContext& m) noexcept;
void filter_abort(MtaContext& m) noexcept;
void filter_close(MtaContext& m) noexcept;

}  // namespace agentgate::milter
