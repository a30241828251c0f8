// One MTA connection's milter protocol state (see connection.hpp).
#include "milter/native/connection.hpp"

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include <algorithm>
#include <cstring>

namespace agentgate::milter::native {
namespace {

// Macro stages in protocol order; the index into Connection::macros_.
enum MacroStage { kConnect, kHelo, kMail, kRcpt, kData, kEoh, kEom };

// The stage a 'D' packet's command names. Postfix sends the end-of-header list with each header
// and the end-of-data list with each body chunk, so 'L' and 'B' count as EOH and EOM.
int macro_stage_of(char command) {
  switch (command) {
    case SMFIC_CONNECT:
      return kConnect;
    case SMFIC_HELO:
      return kHelo;
    case SMFIC_MAIL:
      return kMail;
    case SMFIC_RCPT:
      return kRcpt;
    case SMFIC_DATA:
      return kData;
    case SMFIC_HEADER:
    case SMFIC_EOH:
      return kEoh;
    case SMFIC_BODY:
    case SMFIC_BODYEOB:
      return kEom;
    default:
      return -1;
  }
}

// "i" and "{i}" name the same macro (smfi_getsymval).
bool same_macro(std::string_view a, std::string_view b) {
  if (a == b) return true;
  auto bare = [](std::string_view n) {
    return n.size() == 3 && n.front() == '{' && n.back() == '}' ? n.substr(1, 1) : n;
  };
  return a.size() != b.size() && bare(a).size() == 1 && bare(a) == bare(b);
}

// The steps libmilter can fake for the filter when the MTA does not offer them: it answers
// 'c' itself, so the filter is offered them always.
constexpr unsigned long kNoReplySteps = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
                                        SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN |
                                        SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;

}  // namespace

const Connection::Command Connection::kCommands[] = {
    {SMFIC_OPTNEG, kNoStage, 0, 0, &Connection::on_optneg},
    {SMFIC_MACRO, kNoStage, 0, 0, &Connection::on_macro},
    {SMFIC_CONNECT, kConnect, SMFIP_NOCONNECT, SMFIP_NR_CONN, &Connection::on_connect},
    {SMFIC_HELO, kHelo, SMFIP_NOHELO, SMFIP_NR_HELO, &Connection::on_helo},
    {SMFIC_MAIL, kMail, SMFIP_NOMAIL, SMFIP_NR_MAIL, &Connection::on_mail},
    {SMFIC_RCPT, kRcpt, SMFIP_NORCPT, SMFIP_NR_RCPT, &Connection::on_rcpt},
    {SMFIC_DATA, kData, SMFIP_NODATA, SMFIP_NR_DATA, &Connection::on_no_step},
    {SMFIC_HEADER, kEoh, SMFIP_NOHDRS, SMFIP_NR_HDR, &Connection::on_header},
    {SMFIC_EOH, kEoh, SMFIP_NOEOH, SMFIP_NR_EOH, &Connection::on_no_step},
    {SMFIC_BODY, kEom, SMFIP_NOBODY, SMFIP_NR_BODY, &Connection::on_body},
    {SMFIC_BODYEOB, kEom, 0, 0, &Connection::on_eob},
    {SMFIC_UNKNOWN, kNoStage, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN, &Connection::on_no_step},
    {SMFIC_ABORT, kNoStage, 0, 0, &Connection::on_abort},
    {SMFIC_QUIT, kNoStage, 0, 0, &Connection::on_quit},
    {SMFIC_QUIT_NC, kNoStage, 0, 0, &Connection::on_quit_nc},
};

bool Connection::feed(std::string_view bytes) {
  if (stopped_) return false;
  std::string_view buf = bytes;
  if (!in_.empty()) {
    in_.append(bytes);
    buf = in_;
  }
  for (Packet p; !stopped_;) {
    auto framing = take_packet(buf, p);
    if (framing == Framing::incomplete) break;
    if (framing == Framing::error || !dispatch(p)) {
      if (framing == Framing::error) protocol_error_ = true;
      end();
    }
  }
  if (stopped_) {
    in_.clear();
  } else if (in_.empty()) {
    in_.assign(buf);
  } else {
    in_.erase(0, in_.size() - buf.size());
  }
  return !stopped_;
}

bool Connection::dispatch(const Packet& p) {
  auto* c = std::find_if(std::begin(kCommands), std::end(kCommands),
                         [&](const Command& k) { return k.command == p.command; });
  if (c == std::end(kCommands)) return protocol_error_ = true, false;
  bool before_negotiation_ok = c->command == SMFIC_OPTNEG || c->command == SMFIC_MACRO ||
                               c->command == SMFIC_ABORT || c->command == SMFIC_QUIT ||
                               c->command == SMFIC_QUIT_NC;
  if (!negotiated_ && !before_negotiation_ok) return protocol_error_ = true, false;
  current_ = c;
  stage_ = c->stage;
  // libmilter: entering a stage forgets the macros of the stages after it.
  if (stage_ != kNoStage) clear_macros(stage_ + 1);
  bool go_on = (this->*(c->handle))(p);
  current_ = nullptr;
  stage_ = kNoStage;
  reply_.clear();
  if (!go_on && !stopped_) protocol_error_ = true;
  return go_on;
}

bool Connection::on_optneg(const Packet& p) {
  auto offer = decode_optneg(p.data);
  if (!offer || offer->version < 2) return false;
  requested_macros_ = {};
  unsigned long actions = offer->actions;
  unsigned long steps = 0;
  steps_.negotiate(*this, offer->actions, (offer->protocol & ~SMFI_INTERNAL) | kNoReplySteps,
                   &actions, &steps);
  filter_protocol_ = steps;
  offered_protocol_ = offer->protocol;
  actions_ = static_cast<uint32_t>(actions) & offer->actions;
  mta_protocol_ = static_cast<uint32_t>(steps) & offer->protocol & SMFI_CURR_PROT;
  append_optneg(out_, {std::min(kProtocolVersion, offer->version), actions_, mta_protocol_},
                requested_macros_);
  negotiated_ = true;
  session_open_ = true;
  return true;
}

bool Connection::on_macro(const Packet& p) {
  auto d = decode_macros(p.data);
  if (!d) return false;
  int stage = macro_stage_of(d->stage);
  if (stage < 0) return true;  // a stage libmilter does not keep either
  auto& list = macros_[static_cast<size_t>(stage)];
  list.clear();
  for (const auto& [name, value] : d->pairs) list.emplace_back(name, value);
  return true;
}

bool Connection::on_connect(const Packet& p) {
  auto info = decode_connect(p.data);
  if (!info) return false;
  answer(filter_skips() ? Step::cont : steps_.connect(*this, info->client()));
  return true;
}

bool Connection::on_helo(const Packet& p) {
  if (!decode_helo(p.data)) return false;
  answer(Step::cont);  // agentgate has no HELO step
  return true;
}

bool Connection::on_mail(const Packet& p) {
  auto args = decode_args(p.data);
  if (!args) return false;
  if (in_message_) steps_.abort(*this);  // a new transaction without ABORT
  in_message_ = true;
  answer(filter_skips() ? Step::cont : steps_.mail(*this, args->front().data()));
  return true;
}

bool Connection::on_rcpt(const Packet& p) {
  auto args = decode_args(p.data);
  if (!args) return false;
  answer(filter_skips() ? Step::cont : steps_.rcpt(*this, args->front().data()));
  return true;
}

bool Connection::on_header(const Packet& p) {
  auto h = decode_header(p.data);
  if (!h) return false;
  answer(filter_skips() ? Step::cont : steps_.header(*this, h->name.data(), h->value.data()));
  return true;
}

bool Connection::on_body(const Packet& p) {
  auto* chunk = reinterpret_cast<const unsigned char*>(p.data.data());
  answer(filter_skips() ? Step::cont : steps_.body(*this, chunk, p.data.size()));
  return true;
}

bool Connection::on_eob(const Packet& p) {
  in_eom_ = true;
  Step s = Step::cont;
  if (!p.data.empty() && (filter_protocol_ & SMFIP_NOBODY) == 0)
    s = steps_.body(*this, reinterpret_cast<const unsigned char*>(p.data.data()), p.data.size());
  if (s == Step::cont || s == Step::no_reply) s = steps_.eom(*this);
  in_eom_ = false;
  answer(s);  // after the edits already in out_: all of it leaves in one write
  in_message_ = false;
  clear_macros(kMail);
  return true;
}

bool Connection::on_abort(const Packet&) {
  abort_message();
  return true;
}

bool Connection::on_quit(const Packet&) {
  end();
  return false;
}

bool Connection::on_quit_nc(const Packet&) {
  // The MTA reuses the connection for a new SMTP session: same negotiated options.
  end_session();
  clear_macros(kConnect);
  session_open_ = true;
  return true;
}

bool Connection::on_no_step(const Packet& p) {
  if (p.command == SMFIC_UNKNOWN && !decode_unknown(p.data)) return false;
  answer(Step::cont);
  return true;
}

void Connection::answer(Step step) {
  if (current_->nr != 0 && (mta_protocol_ & current_->nr) != 0) return;  // MTA expects nothing
  switch (step) {
    case Step::cont:
    case Step::no_reply:  // not negotiated with the MTA (or at EOM): it waits for an answer
      append_bare(out_, SMFIR_CONTINUE);
      break;
    case Step::reject:
    case Step::tempfail: {
      // libmilter sends the set reply only when its class matches the step.
      char cls = step == Step::reject ? '5' : '4';
      if (!reply_.empty() && reply_[0] == cls) {
        append_replycode(out_, reply_);
      } else {
        append_bare(out_, step == Step::reject ? SMFIR_REJECT : SMFIR_TEMPFAIL);
      }
      break;
    }
    case Step::skip:
      append_bare(out_, (offered_protocol_ & SMFIP_SKIP) != 0 ? SMFIR_SKIP : SMFIR_CONTINUE);
      break;
  }
  reply_.clear();
}

void Connection::abort_message() {
  if (in_message_) steps_.abort(*this);
  in_message_ = false;
  clear_macros(kMail);
}

void Connection::end_session() {
  if (in_message_) steps_.abort(*this);
  in_message_ = false;
  if (session_open_) steps_.close(*this);
  session_open_ = false;
  session_ = nullptr;  // filter_close freed it
}

void Connection::end() {
  if (stopped_) return;
  stopped_ = true;
  end_session();
}

void Connection::clear_macros(int from_stage) {
  for (size_t i = static_cast<size_t>(from_stage); i < macros_.size(); ++i) macros_[i].clear();
}

std::string Connection::macro(const char* name) {
  if (name == nullptr) return "";
  std::string_view wanted(name);
  int newest = stage_ == kNoStage ? kEom : stage_;
  for (int stage = newest; stage >= kConnect; --stage)
    for (const auto& [n, v] : macros_[static_cast<size_t>(stage)])
      if (same_macro(n, wanted)) return v;
  return "";
}

void Connection::request_macros(int stage, const char* names) {
  if (stage < 0 || static_cast<size_t>(stage) >= requested_macros_.size() || names == nullptr)
    return;
  requested_macros_[static_cast<size_t>(stage)] = names;
}

void Connection::set_reply(const char* rcode, const char* xcode, const std::string& text) {
  if (rcode == nullptr) return;
  reply_ = reply_text(rcode, xcode == nullptr ? "" : xcode, text);
}

// Edits exist only at end of message, and only those negotiated: Postfix drops the connection
// on an edit it did not agree to.
void Connection::quarantine(const std::string& reason) {
  if (in_eom_ && (actions_ & SMFIF_QUARANTINE) != 0) append_quarantine(out_, reason);
}

void Connection::delete_header(const char* name, int index) {
  if (in_eom_ && (actions_ & SMFIF_CHGHDRS) != 0 && name != nullptr && index > 0)
    append_chgheader(out_, static_cast<uint32_t>(index), name, "");
}

void Connection::insert_header(int index, const char* name, const std::string& value) {
  if (in_eom_ && (actions_ & SMFIF_ADDHDRS) != 0 && name != nullptr && index >= 0)
    append_insheader(out_, static_cast<uint32_t>(index), name, value);
}

}  // namespace agentgate::milter::native
