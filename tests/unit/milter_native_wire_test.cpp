// milter/native/wire: framing survives reads split anywhere and refuses empty or oversized
// packets; each command decoder accepts what Postfix sends and refuses malformed payloads
// without crashing; replies are encoded byte-exact ('%' doubled, header index big-endian).
#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "milter/native/wire.hpp"

namespace agentgate::milter::native {
namespace {

using namespace std::string_literals;

std::string wire_packet(char command, std::string_view data) {
  std::string out;
  append_packet(out, command, data);
  return out;
}

// Takes every complete packet from `buffer`, keeping the incomplete rest; false on error.
bool drain(std::string& buffer, std::vector<std::string>& seen) {
  std::string_view view = buffer;
  Packet p;
  for (;;) {
    auto f = take_packet(view, p);
    if (f == Framing::error) return false;
    if (f == Framing::incomplete) break;
    seen.push_back(std::string(1, p.command) + std::string(p.data));
  }
  buffer.erase(0, buffer.size() - view.size());
  return true;
}

TEST_CASE("framing yields the same packets however the stream is split") {
  const std::string stream = wire_packet('O', "\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"s) +
                             wire_packet('D', "Mi\0ABC\0"s) + wire_packet('A', "") +
                             wire_packet('M', "<a@b>\0"s);
  const std::vector<std::string> expected = {"O\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"s, "DMi\0ABC\0"s,
                                             "A", "M<a@b>\0"s};
  for (size_t split = 0; split <= stream.size(); ++split) {
    CAPTURE(split);
    std::string buffer = stream.substr(0, split);
    std::vector<std::string> seen;
    REQUIRE(drain(buffer, seen));
    buffer += stream.substr(split);
    REQUIRE(drain(buffer, seen));
    CHECK(seen == expected);
    CHECK(buffer.empty());
  }
}

TEST_CASE("framing refuses a zero or oversized length and waits for a large valid one") {
  struct Row {
    const char* name;
    std::string bytes;
    Framing expected;
  };
  const Row rows[] = {
      {"zero length is a protocol error", "\0\0\0\0c"s, Framing::error},
      {"1 MiB + 1 is a protocol error", "\0\x10\0\x01"s, Framing::error},
      {"exactly 1 MiB is waited for", "\0\x10\0\0B"s, Framing::incomplete},
      {"three bytes of a length are waited for", "\0\0\0"s, Framing::incomplete},
      {"a length without its command is waited for", "\0\0\0\1"s, Framing::incomplete},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      std::string_view view = row.bytes;
      Packet p;
      CHECK(take_packet(view, p) == row.expected);
      CHECK(view.size() == row.bytes.size());
    }
  }
}

TEST_CASE("OPTNEG decodes three big-endian words and refuses a short payload") {
  auto o = decode_optneg("\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"s);
  REQUIRE(o);
  CHECK(o->version == 6);
  CHECK(o->actions == 0x1ff);
  CHECK(o->protocol == 0x1fffff);
  CHECK_FALSE(decode_optneg("\0\0\0\6\0\0\1\xff\0\x1f\xff"s));
}

TEST_CASE("macro definitions decode into pairs; malformed ones are refused") {
  const std::string data = "Mi\0ABC\0{mail_addr}\0a@b\0"s;  // decoded views point into it
  auto d = decode_macros(data);
  REQUIRE(d);
  CHECK(d->stage == 'M');
  REQUIRE(d->pairs.size() == 2);
  CHECK(d->pairs[1].first == "{mail_addr}");
  CHECK(d->pairs[1].second == "a@b");
  auto empty_stage = decode_macros("C");
  REQUIRE(empty_stage);
  CHECK(empty_stage->pairs.empty());
  struct Row {
    const char* name;
    std::string data;
  };
  const Row bad[] = {
      {"no stage at all", ""},
      {"a name without a value", "Mi\0"s},
      {"a value without its NUL", "Mi\0ABC"s},
      {"an empty name", "M\0ABC\0"s},
  };
  for (const auto& row : bad) SUBCASE(row.name) {
      CHECK_FALSE(decode_macros(row.data));
    }
}

TEST_CASE("CONNECT decodes each address family into the sockaddr the filter gets") {
  SUBCASE("'4' becomes sockaddr_in with the port") {
    const std::string data =
        "mx.example\0004\x01\xbb"
        "192.0.2.7\0"s;
    auto c = decode_connect(data);
    REQUIRE(c);
    CHECK(c->hostname == "mx.example");
    REQUIRE(c->client() != nullptr);
    auto* sin = reinterpret_cast<const sockaddr_in*>(c->client());
    CHECK(sin->sin_family == AF_INET);
    CHECK(ntohs(sin->sin_port) == 443);
    CHECK(ntohl(sin->sin_addr.s_addr) == 0xc0000207);
  }
  SUBCASE("'6' becomes sockaddr_in6, with or without Sendmail's IPv6: prefix") {
    for (std::string addr : {"2001:db8::1", "IPv6:2001:db8::1"}) {
      auto c = decode_connect(
          "h\0"
          "6\0\x19"s +
          addr + '\0');
      REQUIRE(c);
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(c->client());
      CHECK(sin6->sin6_family == AF_INET6);
      CHECK(ntohs(sin6->sin6_port) == 25);
      CHECK(sin6->sin6_addr.s6_addr[0] == 0x20);
      CHECK(sin6->sin6_addr.s6_addr[15] == 0x01);
    }
  }
  SUBCASE("'L' becomes sockaddr_un") {
    auto c = decode_connect("localhost\0L\0\0/run/x.sock\0"s);
    REQUIRE(c);
    CHECK(c->client()->sa_family == AF_UNIX);
    CHECK(std::string(reinterpret_cast<const sockaddr_un*>(c->client())->sun_path) ==
          "/run/x.sock");
  }
  SUBCASE("'U' has no address") {
    auto c = decode_connect("unknown\0U"s);
    REQUIRE(c);
    CHECK(c->client() == nullptr);
  }
  struct Row {
    const char* name;
    std::string data;
  };
  const Row bad[] = {
      {"no NUL after the hostname", "mx.example"},
      {"no family", "mx\0"s},
      {"an unknown family",
       "mx\0X\0\x19"
       "1.2.3.4\0"s},
      {"a truncated port",
       "mx\0"
       "4\0"s},
      {"an address without its NUL",
       "mx\0"
       "4\0\x19"
       "1.2.3.4"s},
      {"an address that does not parse",
       "mx\0"
       "4\0\x19"
       "1.2.3.400\0"s},
      {"an IPv6 address under family 4",
       "mx\0"
       "4\0\x19::1\0"s},
  };
  for (const auto& row : bad) SUBCASE(row.name) {
      CHECK_FALSE(decode_connect(row.data));
    }
}

TEST_CASE("HELO, MAIL, RCPT and HEADER decode NUL-terminated strings and refuse others") {
  CHECK(decode_helo("mx.example\0"s) == std::optional<std::string_view>("mx.example"));
  CHECK_FALSE(decode_helo("mx.example"));
  CHECK_FALSE(decode_helo(""));

  const std::string mail = "<a@b>\0SIZE=10\0"s;
  auto args = decode_args(mail);
  REQUIRE(args);
  REQUIRE(args->size() == 2);
  CHECK(args->front() == "<a@b>");
  CHECK(args->front().data()[5] == '\0');  // handed to the filter as a C string
  CHECK(decode_args("<>\0"s)->front() == "<>");
  CHECK_FALSE(decode_args(""));
  CHECK_FALSE(decode_args("<a@b>"));

  const std::string header = "Subject\0hello\0"s;
  auto h = decode_header(header);
  REQUIRE(h);
  CHECK(h->name == "Subject");
  CHECK(h->value == "hello");
  CHECK(decode_header("X-Empty\0\0"s)->value.empty());
  CHECK_FALSE(decode_header("Subject\0hello"s));
  CHECK_FALSE(decode_header("\0hello\0"s));
  CHECK_FALSE(decode_header("Subject\0"s));
  CHECK_FALSE(decode_header("a\0b\0c\0"s));
}

TEST_CASE("reply text keeps the caller's '%%' and stays one line") {
  struct Row {
    const char* name;
    const char* xcode;
    std::string text;
    std::string expected;
  };
  const Row rows[] = {
      {"code, enhanced code and text", "5.7.1", "not allowed", "550 5.7.1 not allowed"},
      {"'%' as the caller doubled it (smfi_setreply's contract)", "5.7.1", "100%% %%s",
       "550 5.7.1 100%% %%s"},
      {"CR and LF become spaces", "5.7.1", "a\r\nb", "550 5.7.1 a  b"},
      {"no enhanced code", "", "no", "550 no"},
  };
  for (const auto& row : rows) SUBCASE(row.name) {
      CHECK(reply_text("550", row.xcode, row.text) == row.expected);
    }
}

TEST_CASE("replies are encoded byte-exact") {
  struct Row {
    const char* name;
    std::string actual;
    std::string expected;
  };
  auto build = [](auto&& f) {
    std::string out;
    f(out);
    return out;
  };
  const Row rows[] = {
      {"continue", build([](auto& o) { append_bare(o, 'c'); }), "\0\0\0\1c"s},
      {"reply code", build([](auto& o) { append_replycode(o, "550 5.7.1 x"); }),
       "\0\0\0\x0dy550 5.7.1 x\0"s},
      {"quarantine", build([](auto& o) { append_quarantine(o, "why"); }), "\0\0\0\5qwhy\0"s},
      {"change header: index, name, empty value deletes",
       build([](auto& o) { append_chgheader(o, 2, "X-A", ""); }), "\0\0\0\x0am\0\0\0\2X-A\0\0"s},
      {"insert header: big-endian index",
       build([](auto& o) { append_insheader(o, 0x01020304, "X-A", "v"); }),
       "\0\0\0\x0bi\1\2\3\4X-A\0v\0"s},
      {"a NUL inside a value ends it", build([](auto& o) { append_insheader(o, 0, "X", "a\0b"s); }),
       "\0\0\0\x09i\0\0\0\0X\0a\0"s},
      {"negotiation with the requested macro stages", build([](auto& o) {
         std::array<std::string, kMacroStages> lists{};
         lists[SMFIM_ENVFROM] = "{mail_addr}";
         append_optneg(o, {6, 0x131, 0x4}, lists);
       }),
       "\0\0\0\x1d"
       "O\0\0\0\6\0\0\1\x31\0\0\0\4\0\0\0\2{mail_addr}\0"s},
  };
  for (const auto& row : rows) SUBCASE(row.name) {
      CHECK(row.actual == row.expected);
    }
}

}  // namespace
}  // namespace agentgate::milter::native
