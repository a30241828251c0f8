// The MTA side of one milter connection, step by step as milter8.c takes it (see session.hpp).
#include "session.hpp"

#include <cctype>
#include <cstring>

#include <fmt/format.h>

namespace agentgate::bench {
namespace {

const std::string kDataPacket = make_packet(SMFIC_DATA, "");
const std::string kEohPacket = make_packet(SMFIC_EOH, "");
const std::string kEobPacket = make_packet(SMFIC_BODYEOB, "");

bool in_connect_stage(char command) {
  return command == SMFIC_CONNECT || command == SMFIC_HELO;
}

bool refuses_recipient(FinalReply r) {
  return r == FinalReply::reject || r == FinalReply::tempfail || r == FinalReply::replycode;
}

std::string printable(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isprint(u) ? fmt::format("'{}'", c) : fmt::format("0x{:02x}", u);
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return out;
}

// milter8_event(): "4xx"/"5xx", then ' ' or '-', and an enhanced code's class matching.
bool valid_reply_code(std::string_view t) {
  auto digit = [&](size_t i) { return std::isdigit(static_cast<unsigned char>(t[i])) != 0; };
  return t.size() >= 4 && (t[0] == '4' || t[0] == '5') && digit(1) && digit(2) &&
         (t[3] == ' ' || t[3] == '-') && (t.size() == 4 || !digit(4) || t[4] == t[0]);
}

// The argument layout of each modification request Postfix accepts at end of body.
struct ModificationShape {
  Modification kind;
  uint32_t action;  // SMFIF_* the milter must have negotiated
  bool index;       // leading 32-bit header index
  int min_strings;
  int max_strings;  // -1: raw bytes
};

bool shape_of(char command, ModificationShape& shape) {
  switch (command) {
    case SMFIR_ADDHEADER:
      shape = {Modification::add_header, SMFIF_ADDHDRS, false, 2, 2};
      break;
    case SMFIR_INSHEADER:
      shape = {Modification::insert_header, SMFIF_ADDHDRS, true, 2, 2};
      break;
    case SMFIR_CHGHEADER:
      shape = {Modification::change_header, SMFIF_CHGHDRS, true, 2, 2};
      break;
    case SMFIR_CHGFROM:
      shape = {Modification::change_from, SMFIF_CHGFROM, false, 1, 2};
      break;
    case SMFIR_ADDRCPT:
      shape = {Modification::add_rcpt, SMFIF_ADDRCPT, false, 1, 1};
      break;
    case SMFIR_ADDRCPT_PAR:
      shape = {Modification::add_rcpt_par, SMFIF_ADDRCPT_PAR, false, 1, 2};
      break;
    case SMFIR_DELRCPT:
      shape = {Modification::delete_rcpt, SMFIF_DELRCPT, false, 1, 1};
      break;
    case SMFIR_REPLBODY:
      shape = {Modification::replace_body, SMFIF_CHGBODY, false, 0, -1};
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace

Task<Session::Result> Session::open(uint16_t client_port, MessageOutcome& outcome) {
  connection_ended_ = false;
  messages_sent_ = 0;
  skip_command_ = 0;
  if (int rc = co_await stream_.open(settings_.endpoint, settings_.timeout_seconds); rc < 0) {
    errors_.connection_error(
        fmt::format("connect to {}: {}", settings_.endpoint.text, std::strerror(-rc)));
    co_return Result::error;
  }
  if (co_await negotiate() != Result::ok) co_return Result::error;
  connection_macros_ = settings_.macros;
  connection_macros_.client_port = std::to_string(client_port);
  MacroContext context{&connection_macros_, nullptr, nullptr};

  std::string args;
  append_cstring(args, connection_macros_.client_name);
  args.push_back(SMFIA_INET);
  args.push_back(static_cast<char>(client_port >> 8));
  args.push_back(static_cast<char>(client_port & 0xff));
  append_cstring(args, connection_macros_.client_addr);
  std::string connect_packet = make_packet(SMFIC_CONNECT, args);
  scratch_.clear();
  append_macro_pairs(scratch_, plan_.names[SMFIM_CONNECT], context);
  Step s = co_await event(
      {SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN, scratch_, connect_packet, Stage::connect},
      outcome);
  if (s == Step::go_on) {
    args.clear();
    append_cstring(args, settings_.helo);
    std::string helo_packet = make_packet(SMFIC_HELO, args);
    scratch_.clear();
    append_macro_pairs(scratch_, plan_.names[SMFIM_HELO], context);
    s = co_await event(
        {SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, scratch_, helo_packet, Stage::helo}, outcome);
  }
  co_return s == Step::go_on ? Result::ok : s == Step::final ? Result::ended : Result::error;
}

Task<Session::Result> Session::negotiate() {
  stream_.out() = optneg_request();
  PacketStream::Packet reply;
  std::string error;
  auto status = co_await stream_.read(reply, error);
  if (status != PacketStream::Status::ok) {
    fail_connection(SMFIC_OPTNEG, status, error);
    co_return Result::error;
  }
  if (reply.command != SMFIC_OPTNEG) {
    fail_protocol(SMFIC_OPTNEG, fmt::format("unexpected reply {}", printable(reply.command)));
    co_return Result::error;
  }
  auto negotiation = parse_optneg_reply(reply.data, error);
  if (!negotiation) {
    fail_protocol(SMFIC_OPTNEG, error);
    co_return Result::error;
  }
  negotiation_ = *negotiation;
  plan_ = make_macro_plan(negotiation_);
  co_return Result::ok;
}

Task<Session::Result> Session::send_message(const PreparedMessage& message,
                                            std::string_view queue_id, MessageOutcome& outcome) {
  const auto& env = message.envelope;
  MessageMacros message_macros{queue_id, env.login, env.from, message.mail_host};
  MacroContext context{&connection_macros_, &message_macros, nullptr};
  Step s = co_await send_envelope(message, context, outcome);
  if (s == Step::go_on) s = co_await send_content(message, context, outcome);
  if (s == Step::error) co_return Result::error;
  ++messages_sent_;
  // milter8_abort(): the milter forgets the message. Buffered: goes out with the next command.
  if (stream_.is_open()) append_packet(stream_.out(), SMFIC_ABORT, "");
  co_return Result::ok;
}

Task<Session::Step> Session::send_envelope(const PreparedMessage& message, MacroContext& context,
                                           MessageOutcome& outcome) {
  scratch_.clear();
  append_macro_pairs(scratch_, plan_.names[SMFIM_ENVFROM], context);
  Step s = co_await event(
      {SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL, scratch_, message.mail_packet, Stage::mail},
      outcome);
  if (s != Step::go_on) co_return s;

  // A refused recipient ends only itself; the message goes on while one was accepted.
  size_t accepted = 0;
  for (size_t i = 0; i < message.rcpt_packets.size(); ++i) {
    RecipientMacros recipient{message.envelope.rcpts[i], message.rcpt_hosts[i]};
    context.recipient = &recipient;
    scratch_.clear();
    append_macro_pairs(scratch_, plan_.names[SMFIM_ENVRCPT], context);
    context.recipient = nullptr;
    s = co_await event(
        {SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, scratch_, message.rcpt_packets[i], Stage::rcpt},
        outcome);
    if (s == Step::error) co_return s;
    if (s == Step::final && (!refuses_recipient(outcome.reply) || connection_ended_)) co_return s;
    if (s == Step::final) {
      ++outcome.rcpt_refused;
    } else {
      ++accepted;
    }
  }
  if (accepted == 0) co_return Step::final;  // the last refusal is the message's answer
  outcome.code.clear();

  scratch_.clear();
  append_macro_pairs(scratch_, plan_.names[SMFIM_DATA], context);
  co_return co_await event(
      {SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, scratch_, kDataPacket, Stage::data}, outcome);
}

Task<Session::Step> Session::send_content(const PreparedMessage& message, MacroContext& context,
                                          MessageOutcome& outcome) {
  // The end-of-header list goes with every header and EOH, the end-of-data list with every
  // body chunk and the end of body (milter8_header/_eoh/_body/_eob).
  eoh_macros_.clear();
  append_macro_pairs(eoh_macros_, plan_.names[SMFIM_EOH], context);
  eod_macros_.clear();
  append_macro_pairs(eod_macros_, plan_.names[SMFIM_EOM], context);
  Step s = Step::go_on;
  // Under NOHDRS/NOEOH/NOBODY Postfix does not visit the step at all: no macro packet either.
  if (!negotiation_.has(SMFIP_NOHDRS)) {
    const auto& headers = message.header_packets[negotiation_.has(SMFIP_HDR_LEADSPC) ? 1 : 0];
    for (size_t i = 0; i < headers.size() && s == Step::go_on; ++i)
      s = co_await event(
          {SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR, eoh_macros_, headers[i], Stage::header},
          outcome);
  }
  if (s == Step::go_on && !negotiation_.has(SMFIP_NOEOH))
    s = co_await event({SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, eoh_macros_, kEohPacket, Stage::eoh},
                       outcome);
  if (!negotiation_.has(SMFIP_NOBODY)) {
    for (size_t i = 0; i < message.body_packets.size() && s == Step::go_on; ++i)
      s = co_await event({SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY, eod_macros_,
                          message.body_packets[i], Stage::body},
                         outcome);
  }
  if (s == Step::go_on)
    s = co_await event({SMFIC_BODYEOB, 0, 0, eod_macros_, kEobPacket, Stage::eom}, outcome);
  if (s != Step::go_on) co_return s;
  outcome.reply = FinalReply::continue_;
  outcome.stage = Stage::eom;
  co_return Step::final;
}

Task<void> Session::quit() {
  if (!stream_.is_open()) co_return;
  append_packet(stream_.out(), SMFIC_QUIT, "");
  std::string error;
  if (auto status = co_await stream_.flush(error); status != PacketStream::Status::ok)
    fail_connection(SMFIC_QUIT, status, error);
  stream_.close();
}

Task<Session::Step> Session::event(Event e, MessageOutcome& outcome) {
  if ((e.not_sent & negotiation_.non_protocol) != 0) co_return Step::go_on;
  if (skip_command_ != 0) {
    if (e.command == skip_command_) co_return Step::go_on;
    skip_command_ = 0;
  }
  append_macro_packet(stream_.out(), e.command, e.macros);
  if ((e.not_sent & negotiation_.protocol) != 0) co_return Step::go_on;
  stream_.out().append(e.packet);
  if ((e.no_reply & negotiation_.protocol) == 0) co_return co_await read_replies(e, outcome);
  if (!stream_.should_flush()) co_return Step::go_on;
  std::string error;
  auto status = co_await stream_.flush(error);
  co_return status == PacketStream::Status::ok ? Step::go_on
                                               : fail_connection(e.command, status, error);
}

Task<Session::Step> Session::read_replies(Event e, MessageOutcome& outcome) {
  for (;;) {
    PacketStream::Packet reply;
    std::string error;
    if (auto status = co_await stream_.read(reply, error); status != PacketStream::Status::ok)
      co_return fail_connection(e.command, status, error);
    bool bare = reply.data.empty();
    switch (reply.command) {
      case SMFIR_PROGRESS:
        if (!bare) break;
        ++outcome.progress;
        continue;
      case SMFIR_CONTINUE:
        if (!bare) break;
        co_return Step::go_on;
      case SMFIR_ACCEPT:
        if (!bare) break;
        co_return final_reply(e, FinalReply::accept, outcome);
      case SMFIR_DISCARD:
        if (!bare) break;
        if (!in_connect_stage(e.command)) co_return final_reply(e, FinalReply::discard, outcome);
        // Postfix warns and carries on.
        errors_.protocol_error(fmt::format("{}: SMFIR_DISCARD after {} (not allowed there)",
                                           settings_.endpoint.text, printable(e.command)));
        co_return Step::go_on;
      case SMFIR_REJECT:
        if (!bare) break;
        co_return final_reply(e, FinalReply::reject, outcome);
      case SMFIR_TEMPFAIL:
        if (!bare) break;
        co_return final_reply(e, FinalReply::tempfail, outcome);
      case SMFIR_SHUTDOWN:
        if (!bare) break;
        co_return final_reply(e, FinalReply::shutdown, outcome);
      case SMFIR_REPLYCODE: {
        std::string_view text(reply.data.data(), strnlen(reply.data.data(), reply.data.size()));
        if (!valid_reply_code(text))
          co_return fail_protocol(e.command,
                                  fmt::format("malformed reply code '{}'", printable(text)));
        outcome.code = std::string(text.substr(0, 3));
        co_return final_reply(e, FinalReply::replycode, outcome);
      }
      case SMFIR_QUARANTINE:  // not final, allowed at any step
        ++outcome.modifications[static_cast<size_t>(Modification::quarantine)];
        continue;
      case SMFIR_SKIP:
        if (!bare) break;
        skip_command_ = e.command;
        ++outcome.skips;
        co_return Step::go_on;
      default:
        if (e.command != SMFIC_BODYEOB)
          co_return fail_protocol(e.command,
                                  fmt::format("unexpected reply {}", printable(reply.command)));
        if (!modification(reply.command, reply.data, outcome, error))
          co_return fail_protocol(e.command, error);
        continue;
    }
    co_return fail_protocol(e.command, fmt::format("reply {} followed by {} data bytes",
                                                   printable(reply.command), reply.data.size()));
  }
}

Session::Step Session::final_reply(const Event& e, FinalReply reply, MessageOutcome& outcome) {
  outcome.reply = reply;
  outcome.stage = e.stage;
  // A final answer to CONNECT or HELO ends the session; Postfix then closes without QUIT.
  if (in_connect_stage(e.command) || reply == FinalReply::shutdown) {
    stream_.close();
    connection_ended_ = true;
  }
  return Step::final;
}

bool Session::modification(char command, std::string_view data, MessageOutcome& outcome,
                           std::string& error) {
  ModificationShape shape{};
  if (!shape_of(command, shape)) {
    error = fmt::format("unexpected reply {} at end of body", printable(command));
    return false;
  }
  if ((negotiation_.actions & shape.action) == 0) {
    error = fmt::format("{} request without the negotiated action", name_of(shape.kind));
    return false;
  }
  if (shape.max_strings >= 0) {
    bool well_formed = !shape.index || data.size() >= 4;
    if (shape.index && well_formed) data.remove_prefix(4);
    int strings = 0;
    for (auto nul = data.find('\0'); well_formed && nul != std::string_view::npos;
         nul = data.find('\0')) {
      data.remove_prefix(nul + 1);
      ++strings;
    }
    if (!well_formed || !data.empty() || strings < shape.min_strings ||
        strings > shape.max_strings) {
      error = fmt::format("malformed {} request", name_of(shape.kind));
      return false;
    }
  }
  ++outcome.modifications[static_cast<size_t>(shape.kind)];
  return true;
}

Session::Step Session::fail_protocol(char command, std::string_view what) {
  errors_.protocol_error(
      fmt::format("{}: after {}: {}", settings_.endpoint.text, printable(command), what));
  stream_.close();
  return Step::error;
}

Session::Step Session::fail_connection(char command, PacketStream::Status status,
                                       std::string_view what) {
  if (status == PacketStream::Status::bad_packet) return fail_protocol(command, what);
  errors_.connection_error(
      fmt::format("{}: at {}: {}", settings_.endpoint.text, printable(command), what));
  stream_.close();
  return Step::error;
}

}  // namespace agentgate::bench
