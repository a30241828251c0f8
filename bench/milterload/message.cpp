// Corpus loading, the synthetic message and pre-serialisation (see message.hpp).
#include "message.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "protocol.hpp"

namespace agentgate::bench {
namespace {

std::string strip_brackets(std::string_view address) {
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
    address = address.substr(1, address.size() - 2);
  return std::string(address);
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

class CorpusReader {
 public:
  explicit CorpusReader(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw std::runtime_error(fmt::format("{}: cannot open", path));
  }

  std::vector<Message> read_all() {
    std::vector<Message> messages;
    std::string line;
    while (next_line(line)) {
      if (line.empty()) continue;
      if (!line.starts_with("#envelope")) fail("expected '#envelope from=<...> rcpt=<...>'");
      Message m;
      m.envelope = parse_envelope(line);
      read_content(m);
      messages.push_back(std::move(m));
    }
    if (messages.empty()) throw std::runtime_error(fmt::format("{}: no messages", path_));
    return messages;
  }

 private:
  bool next_line(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  [[noreturn]] void fail(std::string_view what) const {
    throw std::runtime_error(fmt::format("{}:{}: {}", path_, line_no_, what));
  }

  Envelope parse_envelope(std::string_view line) const {
    Envelope e;
    bool have_from = false;
    size_t pos = std::string_view("#envelope").size();
    while (pos < line.size()) {
      auto start = line.find_first_not_of(" \t", pos);
      if (start == std::string_view::npos) break;
      auto end = std::min(line.find_first_of(" \t", start), line.size());
      auto token = line.substr(start, end - start);
      pos = end;
      auto eq = token.find('=');
      if (eq == std::string_view::npos)
        fail(fmt::format("envelope item '{}' is not key=value", token));
      auto key = token.substr(0, eq);
      auto value = token.substr(eq + 1);
      if (key == "from") {
        e.from = strip_brackets(value);
        have_from = true;
      } else if (key == "rcpt") {
        for (size_t p = 0; p <= value.size();) {
          auto comma = std::min(value.find(',', p), value.size());
          if (comma > p) e.rcpts.push_back(strip_brackets(value.substr(p, comma - p)));
          p = comma + 1;
        }
      } else if (key == "login") {
        e.login = value;
      } else {
        fail(fmt::format("unknown envelope key '{}'", key));
      }
    }
    if (!have_from || e.rcpts.empty()) fail("envelope needs from= and at least one rcpt=");
    return e;
  }

  void read_content(Message& m) {
    std::string line;
    bool in_body = false;
    while (next_line(line)) {
      if (line == "#end") return;
      if (in_body) {
        m.body_lines.push_back(line);
      } else if (line.empty()) {
        in_body = true;
      } else if (line.front() == ' ' || line.front() == '\t') {
        if (m.headers.empty()) fail("continuation line before any header");
        m.headers.back().value += '\n';
        m.headers.back().value += line;
      } else {
        auto colon = line.find(':');
        auto name_end = line.find_last_not_of(" \t", colon == 0 ? 0 : colon - 1);
        if (colon == std::string::npos || colon == 0 || name_end == std::string::npos)
          fail("expected a header line 'Name: value'");
        m.headers.push_back({line.substr(0, name_end + 1), line.substr(colon + 1)});
      }
    }
    fail("message without '#end'");
  }

  std::string path_;
  std::ifstream in_;
  size_t line_no_ = 0;
};

// Bytes of a header on the wire: "Name:value\r\n", each "\n" inside the value as "\r\n".
size_t header_wire_size(const Header& h) {
  auto newlines = static_cast<size_t>(std::count(h.value.begin(), h.value.end(), '\n'));
  return h.name.size() + 1 + h.value.size() + newlines + 2;
}

std::string rfc5322_now() {
  char buf[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

std::vector<Message> load_corpus(const std::string& path) {
  return CorpusReader(path).read_all();
}

Message synthetic_message(size_t size, const Envelope& envelope) {
  Message m;
  m.envelope = envelope;
  std::string to;
  for (const auto& r : envelope.rcpts) to += (to.empty() ? "" : ", ") + r;
  std::string date = rfc5322_now();
  m.headers = {
      {"Received", fmt::format(" from bench-client.example (localhost [127.0.0.1])\n\tby "
                               "bench.example (Postfix) with ESMTP; {}",
                               date)},
      {"From", " " + envelope.from},
      {"To", " " + to},
      {"Subject", " milterload synthetic message"},
      {"Date", " " + date},
      {"Message-ID",
       fmt::format(" <milterload.{}.{}@bench.example>", getpid(), std::time(nullptr))},
      {"MIME-Version", " 1.0"},
      {"Content-Type", " text/plain; charset=us-ascii"},
      {"Content-Transfer-Encoding", " 7bit"},
      {"X-Mailer", " milterload"},
  };
  size_t used = 2;  // the empty line between header and body
  for (const auto& h : m.headers) used += header_wire_size(h);
  static constexpr std::string_view kText =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
      "ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation.";
  for (size_t n = 0; used + 2 <= size; ++n) {
    auto prefix = fmt::format("{:05} ", n);
    size_t length = std::min<size_t>(76, size - used - 2);
    std::string line = prefix + std::string(kText.substr(n % 40, 76));
    line.resize(length);
    m.body_lines.push_back(std::move(line));
    used += length + 2;
  }
  return m;
}

PreparedMessage prepare(const Message& message) {
  PreparedMessage p;
  const auto& env = message.envelope;
  p.envelope = env;
  p.mail_host = domain_of(env.from);
  std::string args;
  append_cstring(args, "<" + env.from + ">");
  p.mail_packet = make_packet(SMFIC_MAIL, args);
  for (const auto& rcpt : env.rcpts) {
    args.clear();
    append_cstring(args, "<" + rcpt + ">");
    p.rcpt_packets.push_back(make_packet(SMFIC_RCPT, args));
    p.rcpt_hosts.push_back(domain_of(rcpt));
  }
  for (const auto& h : message.headers) {
    for (int leading_space = 0; leading_space < 2; ++leading_space) {
      // Like Sendmail, Postfix eats one space (not a tab) after the colon unless told not to.
      std::string_view value = h.value;
      if (!leading_space && value.starts_with(' ')) value.remove_prefix(1);
      args.clear();
      append_cstring(args, h.name);
      append_cstring(args, value);
      p.header_packets[leading_space].push_back(make_packet(SMFIC_HEADER, args));
    }
    p.size += header_wire_size(h);
  }
  std::string body;
  for (const auto& line : message.body_lines) body += line + "\r\n";
  for (size_t pos = 0; pos < body.size(); pos += kBodyChunk)
    p.body_packets.push_back(
        make_packet(SMFIC_BODY, std::string_view(body).substr(pos, kBodyChunk)));
  p.size += 2 + body.size();
  return p;
}

}  // namespace agentgate::bench
