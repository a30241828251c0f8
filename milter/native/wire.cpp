// Milter packet framing, command decoding and reply encoding (see wire.hpp).
#include "milter/native/wire.hpp"

#include <arpa/inet.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/un.h>

#include <cstring>

namespace agentgate::milter::native {
namespace {

// Splits `data` into NUL-terminated strings; nullopt unless it ends with a NUL.
std::optional<std::vector<std::string_view>> split_cstrings(std::string_view data) {
  if (data.empty() || data.back() != '\0') return std::nullopt;
  std::vector<std::string_view> parts;
  while (!data.empty()) {
    auto nul = data.find('\0');
    parts.push_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  return parts;
}

// A string argument of an edit reply: cut at an embedded NUL, which would end it early anyway.
std::string_view cstring(std::string_view s) {
  return s.substr(0, s.find('\0'));
}

void append_cstring(std::string& out, std::string_view s) {
  out.append(cstring(s));
  out.push_back('\0');
}

bool fill_address(ConnectInfo& info) {
  sockaddr_storage storage{};
  std::string text(info.address_text);
  if (info.family == SMFIA_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(info.port);
    if (inet_pton(AF_INET, text.c_str(), &sin->sin_addr) != 1) return false;
  } else if (info.family == SMFIA_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(info.port);
    // Sendmail writes "IPv6:::1", Postfix the bare address.
    if (strncasecmp(text.c_str(), "IPv6:", 5) == 0) text.erase(0, 5);
    if (inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) != 1) return false;
  } else {  // SMFIA_UNIX
    auto* sun = reinterpret_cast<sockaddr_un*>(&storage);
    sun->sun_family = AF_UNIX;
    if (text.size() >= sizeof sun->sun_path) return false;
    std::memcpy(sun->sun_path, text.data(), text.size());
  }
  info.address = storage;
  return true;
}

}  // namespace

uint32_t read_be32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void append_be32(std::string& out, uint32_t value) {
  char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                   static_cast<char>(value >> 8), static_cast<char>(value)};
  out.append(bytes, 4);
}

Framing take_packet(std::string_view& buf, Packet& packet) {
  if (buf.size() < 4) return Framing::incomplete;
  uint32_t length = read_be32(buf.data());
  if (length == 0 || length > kMaxPacketLength) return Framing::error;
  if (buf.size() - 4 < length) return Framing::incomplete;
  packet.command = buf[4];
  packet.data = buf.substr(5, length - 1);
  buf.remove_prefix(4 + size_t{length});
  return Framing::packet;
}

std::optional<OptNeg> decode_optneg(std::string_view data) {
  if (data.size() < MILTER_OPTLEN) return std::nullopt;
  return OptNeg{read_be32(data.data()), read_be32(data.data() + 4), read_be32(data.data() + 8)};
}

std::optional<MacroDefinitions> decode_macros(std::string_view data) {
  if (data.empty()) return std::nullopt;
  MacroDefinitions d;
  d.stage = data[0];
  data.remove_prefix(1);
  if (data.empty()) return d;  // a stage with no macro defined
  auto parts = split_cstrings(data);
  if (!parts || parts->size() % 2 != 0) return std::nullopt;
  for (size_t i = 0; i < parts->size(); i += 2) {
    if ((*parts)[i].empty()) return std::nullopt;
    d.pairs.emplace_back((*parts)[i], (*parts)[i + 1]);
  }
  return d;
}

std::optional<ConnectInfo> decode_connect(std::string_view data) {
  auto nul = data.find('\0');
  if (nul == std::string_view::npos || nul + 1 >= data.size()) return std::nullopt;
  ConnectInfo info;
  info.hostname = data.substr(0, nul);
  data.remove_prefix(nul + 1);
  info.family = data[0];
  data.remove_prefix(1);
  if (info.family == SMFIA_UNKNOWN) return info;  // no port, no address: trailing bytes ignored
  if (info.family != SMFIA_INET && info.family != SMFIA_INET6 && info.family != SMFIA_UNIX)
    return std::nullopt;
  if (data.size() < 3 || data.back() != '\0') return std::nullopt;
  info.port = static_cast<uint16_t>(static_cast<unsigned char>(data[0]) << 8 |
                                    static_cast<unsigned char>(data[1]));
  data.remove_prefix(2);
  info.address_text = data.substr(0, data.find('\0'));
  if (!fill_address(info)) return std::nullopt;
  return info;
}

std::optional<std::string_view> decode_helo(std::string_view data) {
  auto parts = split_cstrings(data);
  if (!parts) return std::nullopt;
  return parts->front();
}

std::optional<std::vector<std::string_view>> decode_args(std::string_view data) {
  return split_cstrings(data);
}

std::optional<HeaderField> decode_header(std::string_view data) {
  auto parts = split_cstrings(data);
  if (!parts || parts->size() != 2 || parts->front().empty()) return std::nullopt;
  return HeaderField{(*parts)[0], (*parts)[1]};
}

std::optional<std::string_view> decode_unknown(std::string_view data) {
  return decode_helo(data);
}

void append_packet(std::string& out, char command, std::string_view data) {
  append_be32(out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(command);
  out.append(data);
}

void append_optneg(std::string& out, const OptNeg& reply,
                   const std::array<std::string, kMacroStages>& macro_lists) {
  std::string data;
  append_be32(data, reply.version);
  append_be32(data, reply.actions);
  append_be32(data, reply.protocol);
  for (size_t stage = 0; stage < macro_lists.size(); ++stage) {
    if (macro_lists[stage].empty()) continue;
    append_be32(data, static_cast<uint32_t>(stage));
    append_cstring(data, macro_lists[stage]);
  }
  append_packet(out, SMFIC_OPTNEG, data);
}

void append_bare(std::string& out, char command) {
  append_packet(out, command, {});
}

std::string reply_text(std::string_view rcode, std::string_view xcode, std::string_view text) {
  std::string raw(rcode);
  if (!xcode.empty()) raw.append(" ").append(xcode);
  if (!text.empty()) raw.append(" ").append(text);
  std::string out;
  out.reserve(raw.size() + 8);
  for (char c : raw) out.push_back(c == '\r' || c == '\n' || c == '\0' ? ' ' : c);
  return out;
}

void append_replycode(std::string& out, std::string_view reply_text) {
  std::string data;
  append_cstring(data, reply_text);
  append_packet(out, SMFIR_REPLYCODE, data);
}

void append_quarantine(std::string& out, std::string_view reason) {
  std::string data;
  append_cstring(data, reason);
  append_packet(out, SMFIR_QUARANTINE, data);
}

namespace {
void append_indexed_header(std::string& out, char command, uint32_t index, std::string_view name,
                           std::string_view value) {
  std::string data;
  append_be32(data, index);
  append_cstring(data, name);
  append_cstring(data, value);
  append_packet(out, command, data);
}
}  // namespace

void append_chgheader(std::string& out, uint32_t index, std::string_view name,
                      std::string_view value) {
  append_indexed_header(out, SMFIR_CHGHEADER, index, name, value);
}

void append_insheader(std::string& out, uint32_t index, std::string_view name,
                      std::string_view value) {
  append_indexed_header(out, SMFIR_INSHEADER, index, name, value);
}

}  // namespace agentgate::milter::native
