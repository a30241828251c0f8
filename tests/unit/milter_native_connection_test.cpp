// milter/native/connection with fake filter steps: negotiation replies with what the filter
// chose; NR_* steps stay silent and the end of message sends edits + reply in one buffer;
// reject/tempfail become 'y' with the set reply (or 'r'/'t'); macros follow libmilter's
// lifetimes; the session is closed exactly once however the connection ends; protocol errors
// end the connection.
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "milter/native/connection.hpp"

namespace agentgate::milter::native {
namespace {

using namespace std::string_literals;

constexpr unsigned long kAllNoReply = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
                                      SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH |
                                      SMFIP_NR_BODY;

// What the fake filter does and saw. Function pointers cannot capture, hence one global.
struct Fake {
  unsigned long steps = 0;  // SMFIP_* it negotiates
  Step rcpt_step = Step::cont;
  const char* reply_code = nullptr;  // set_reply before rcpt_step
  bool edits = true;                 // at EOM: insert X-Agentgate, delete X-Old
  std::vector<std::string> calls;    // "mail <a@b> mail_addr=a@b", ...
  int aborts = 0;
  int closes = 0;
};
Fake fake;
char session_token;

std::string seen_macros(MtaContext& m) {
  return " j=" + m.macro("j") + " mail_addr=" + m.macro("{mail_addr}") + " i=" + m.macro("i");
}

const FilterSteps kFakeSteps = {
    [](MtaContext& m, unsigned long, unsigned long, unsigned long* actions,
       unsigned long* steps) noexcept {
      *actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST;
      *steps = fake.steps;
      m.request_macros(SMFIM_ENVFROM, "{mail_addr} i");
    },
    [](MtaContext& m, const sockaddr* client) noexcept {
      m.set_session(reinterpret_cast<Session*>(&session_token));
      fake.calls.push_back("connect " + std::to_string(client ? client->sa_family : -1));
      return Step::cont;
    },
    [](MtaContext& m, const char* sender) noexcept {
      fake.calls.push_back("mail " + std::string(sender) + seen_macros(m));
      return Step::cont;
    },
    [](MtaContext& m, const char* rcpt) noexcept {
      fake.calls.push_back("rcpt " + std::string(rcpt) + seen_macros(m));
      if (fake.reply_code) m.set_reply(fake.reply_code, "5.7.1", "not allowed 100%%");
      return fake.rcpt_step;
    },
    [](MtaContext&, const char* name, const char* value) noexcept {
      fake.calls.push_back("header " + std::string(name) + ": " + value);
      return Step::cont;
    },
    [](MtaContext&, const unsigned char* chunk, std::size_t len) noexcept {
      fake.calls.push_back("body " + std::string(reinterpret_cast<const char*>(chunk), len));
      return Step::cont;
    },
    [](MtaContext& m) noexcept {
      fake.calls.push_back("eom" + seen_macros(m));
      if (fake.edits) {
        m.insert_header(1, "X-Agentgate", "ok");
        m.delete_header("X-Old", 1);
        m.quarantine("not negotiated, so never sent");
      }
      return Step::cont;
    },
    [](MtaContext&) noexcept { ++fake.aborts; },
    [](MtaContext& m) noexcept {
      ++fake.closes;
      m.set_session(nullptr);
    },
};

std::string packet(char command, std::string_view data = {}) {
  std::string out;
  append_packet(out, command, data);
  return out;
}

std::string optneg() {
  return packet('O', "\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"s);
}
std::string connect() {
  return packet('C',
                "mx.example\0004\x01\xbb"
                "192.0.2.7\0"s);
}
std::string mail(std::string_view addr = "<a@b>") {
  return packet('M', std::string(addr) + '\0');
}
std::string rcpt() {
  return packet('R', "<c@d>\0"s);
}
std::string macros(char stage, std::string_view pairs) {
  return packet('D', std::string(1, stage) + std::string(pairs));
}
// DATA, one header, EOH, one body chunk; then the end of body.
std::string content() {
  return packet('T') + packet('L', "Subject\0hi\0"s) + packet('N') + packet('B', "body\r\n");
}
std::string eob() {
  return packet('E');
}

std::string negotiated(Connection& c, unsigned long steps) {
  fake = Fake{};
  fake.steps = steps;
  REQUIRE(c.feed(optneg()));
  std::string reply = c.output();
  c.output().clear();
  return reply;
}

const std::string kEdits = [] {
  std::string out;
  append_insheader(out, 1, "X-Agentgate", "ok");
  append_chgheader(out, 1, "X-Old", "");
  return out;
}();

TEST_CASE("negotiation answers version 6 with the filter's actions, steps and macro lists") {
  Connection c(kFakeSteps);
  std::string reply = negotiated(c, SMFIP_NR_MAIL | SMFIP_NOHELO);
  std::string expected;
  std::array<std::string, kMacroStages> lists{};
  lists[SMFIM_ENVFROM] = "{mail_addr} i";
  append_optneg(expected,
                {6, SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST, SMFIP_NR_MAIL | SMFIP_NOHELO},
                lists);
  CHECK(reply == expected);
}

TEST_CASE("a whole message under NR_* gets no reply until EOM, then edits and 'c' at once") {
  const std::string before_eob = connect() + packet('H', "client\0"s) + mail() + rcpt() + content();
  SUBCASE("fed in one piece") {
    Connection c(kFakeSteps);
    negotiated(c, kAllNoReply);
    REQUIRE(c.feed(before_eob));
    CHECK(c.output().empty());
    REQUIRE(c.feed(eob()));
    CHECK(c.output() == kEdits + packet('c'));
  }
  SUBCASE("fed one byte at a time") {
    Connection c(kFakeSteps);
    negotiated(c, kAllNoReply);
    for (char byte : before_eob + eob()) REQUIRE(c.feed(std::string_view(&byte, 1)));
    CHECK(c.output() == kEdits + packet('c'));
    CHECK(fake.calls.size() == 6);  // connect, mail, rcpt, header, body, eom
  }
}

TEST_CASE("each step is answered when not negotiated NR_*") {
  Connection c(kFakeSteps);
  negotiated(c, 0);
  REQUIRE(c.feed(connect() + mail() + rcpt() + content()));
  CHECK(c.output() == packet('c') + packet('c') + packet('c') + packet('c') + packet('c') +
                          packet('c') + packet('c'));
}

TEST_CASE("a refused recipient gets the reply the filter set, or the bare refusal") {
  struct Row {
    const char* name;
    Step step;
    const char* code;
    std::string expected;
  };
  std::string y550;
  append_replycode(y550, "550 5.7.1 not allowed 100%%");
  std::string y451;
  append_replycode(y451, "451 5.7.1 not allowed 100%%");
  const Row rows[] = {
      {"reject with a 5xx reply: 'y', the text as set", Step::reject, "550", y550},
      {"reject without a reply: 'r'", Step::reject, nullptr, packet('r')},
      {"tempfail with a 4xx reply: 'y'", Step::tempfail, "451", y451},
      {"tempfail with a 5xx reply: 't', as libmilter", Step::tempfail, "550", packet('t')},
      {"skip when the MTA offered SKIP: 's'", Step::skip, nullptr, packet('s')},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      Connection c(kFakeSteps);
      negotiated(c, SMFIP_NR_CONN | SMFIP_NR_MAIL);
      fake.rcpt_step = row.step;
      fake.reply_code = row.code;
      REQUIRE(c.feed(connect() + mail() + rcpt()));
      CHECK(c.output() == row.expected);
    }
  }
}

TEST_CASE("macros: connect ones live on, message ones end with the message or ABORT") {
  Connection c(kFakeSteps);
  negotiated(c, kAllNoReply);
  REQUIRE(c.feed(macros('C', "j\0mx.example\0"s) + connect()));
  REQUIRE(c.feed(macros('M', "{mail_addr}\0a@b\0{i}\0Q1\0"s) + mail() + rcpt() + content()));
  REQUIRE(c.feed(macros('E', "i\0Q1-eom\0"s) + eob()));
  REQUIRE(c.feed(packet('A') + mail("<x@y>") + packet('A')));
  REQUIRE(c.feed(macros('M', "{mail_addr}\0e@f\0"s) + mail("<e@f>") + packet('A') + mail("<g@h>")));
  const std::vector<std::string> expected = {
      "connect 2",
      "mail <a@b> j=mx.example mail_addr=a@b i=Q1",  // "i" finds "{i}"
      "rcpt <c@d> j=mx.example mail_addr=a@b i=Q1",
      "header Subject: hi",
      "body body\r\n",
      "eom j=mx.example mail_addr=a@b i=Q1-eom",  // the EOM stage's own value first
      "mail <x@y> j=mx.example mail_addr= i=",    // cleared after the end of message
      "mail <e@f> j=mx.example mail_addr=e@f i=",
      "mail <g@h> j=mx.example mail_addr= i=",  // cleared by ABORT
  };
  CHECK(fake.calls == expected);
  CHECK(fake.aborts == 2);  // the ABORTs inside a message; the one after EOM has none to abort
}

TEST_CASE("the filter session is closed exactly once however the connection ends") {
  SUBCASE("QUIT ends the connection without a protocol error") {
    Connection c(kFakeSteps);
    negotiated(c, kAllNoReply);
    CHECK_FALSE(c.feed(connect() + packet('Q') + mail()));
    CHECK_FALSE(c.protocol_error());
    CHECK(fake.closes == 1);
    c.end();
    CHECK(fake.closes == 1);
    CHECK(fake.calls.size() == 1);  // nothing after QUIT is processed
  }
  SUBCASE("EOF in a message aborts it, then closes") {
    {
      Connection c(kFakeSteps);
      negotiated(c, kAllNoReply);
      REQUIRE(c.feed(connect() + mail()));
    }
    CHECK(fake.aborts == 1);
    CHECK(fake.closes == 1);
  }
  SUBCASE("QUIT_NC closes, keeps the negotiation, takes a new CONNECT") {
    Connection c(kFakeSteps);
    negotiated(c, kAllNoReply);
    REQUIRE(c.feed(macros('C', "j\0mx\0"s) + connect() + packet('K')));
    CHECK(fake.closes == 1);
    REQUIRE(c.feed(connect() + mail()));
    CHECK(c.output().empty());  // still NR_*
    CHECK(fake.calls.back() == "mail <a@b> j= mail_addr= i=");
    c.end();
    CHECK(fake.closes == 2);
  }
}

TEST_CASE("a step the filter negotiated away is answered without calling it") {
  Connection c(kFakeSteps);
  negotiated(c, SMFIP_NOMAIL | SMFIP_NR_CONN);
  REQUIRE(c.feed(connect() + mail()));
  CHECK(c.output() == packet('c'));
  CHECK(fake.calls == std::vector<std::string>{"connect 2"});
}

TEST_CASE("a protocol violation ends the connection and the session") {
  struct Row {
    const char* name;
    std::string bytes;
  };
  const Row rows[] = {
      {"an unknown command", packet('Z')},
      {"a malformed MAIL", packet('M', "<a@b>")},
      {"an oversized packet", "\0\x20\0\0M"s},
      {"a zero-length packet", "\0\0\0\0"s},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      Connection c(kFakeSteps);
      negotiated(c, kAllNoReply);
      CHECK_FALSE(c.feed(connect() + row.bytes + rcpt()));
      CHECK(c.protocol_error());
      CHECK(fake.closes == 1);
      CHECK(fake.calls == std::vector<std::string>{"connect 2"});
    }
  }
  SUBCASE("a command before negotiation") {
    fake = Fake{};
    Connection c(kFakeSteps);
    CHECK_FALSE(c.feed(connect()));
    CHECK(c.protocol_error());
    CHECK(fake.calls.empty());
  }
}

TEST_CASE("edits outside the end of message are dropped") {
  Connection c(kFakeSteps);
  negotiated(c, kAllNoReply);
  REQUIRE(c.feed(connect()));
  c.insert_header(0, "X-Early", "no");
  c.delete_header("X-Early", 1);
  CHECK(c.output().empty());
}

}  // namespace
}  // namespace agentgate::milter::native
