// The milter protocol (version 6) on the wire, milter side: packet framing, decoding of the MTA's
// commands and encoding of our replies. Pure: no I/O, no state beyond the arguments. Malformed
// input is an error value (nullopt, Framing::error), never a crash or an exception.
//
// Decoded strings are views into the packet. Every view documented as "C string" is followed by
// a NUL in the packet, so its data() can be handed to the filter's `const char*` steps.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentgate::milter::native {

// Largest packet accepted (length field: command byte + data). Postfix sends at most 64 KiB of
// body per packet; anything near this bound is a broken or hostile peer.
inline constexpr uint32_t kMaxPacketLength = 1u << 20;
inline constexpr uint32_t kProtocolVersion = 6;
inline constexpr size_t kMacroStages = 7;  // SMFIM_CONNECT .. SMFIM_EOH

struct Packet {
  char command = 0;
  std::string_view data;  // without the command byte
};

enum class Framing { packet, incomplete, error };

// Takes the first complete packet off the front of `buf`. `incomplete`: buf is left as it was,
// more bytes are needed. `error`: length 0 or above kMaxPacketLength.
Framing take_packet(std::string_view& buf, Packet& packet);

// ---- MTA commands ---------------------------------------------------------------------------

struct OptNeg {
  uint32_t version = 0;
  uint32_t actions = 0;   // SMFIF_*
  uint32_t protocol = 0;  // SMFIP_*
};
std::optional<OptNeg> decode_optneg(std::string_view data);

// 'D': the command whose stage the macros belong to, then name/value pairs.
struct MacroDefinitions {
  char stage = 0;
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
};
std::optional<MacroDefinitions> decode_macros(std::string_view data);

// 'C'. `address` holds a sockaddr for families '4', '6' (with the port) and 'L'; for 'U' it is
// empty and client() is nullptr.
struct ConnectInfo {
  std::string_view hostname;  // C string
  char family = 0;
  uint16_t port = 0;
  std::string_view address_text;
  std::optional<sockaddr_storage> address;
  const sockaddr* client() const {
    return address ? reinterpret_cast<const sockaddr*>(&*address) : nullptr;
  }
};
std::optional<ConnectInfo> decode_connect(std::string_view data);

// 'H': the HELO/EHLO argument (C string).
std::optional<std::string_view> decode_helo(std::string_view data);

// 'M', 'R': NUL-separated arguments, at least one; [0] is the address as sent ("<a@b>"),
// the rest ESMTP parameters. All C strings.
std::optional<std::vector<std::string_view>> decode_args(std::string_view data);

// 'L': name\0value\0 (both C strings).
struct HeaderField {
  std::string_view name;
  std::string_view value;
};
std::optional<HeaderField> decode_header(std::string_view data);

// 'A', 'N', 'Q', 'K', 'T' carry no data; data on them is tolerated and ignored (as libmilter).
// 'B' and 'E' carry raw body bytes ('E' possibly none). 'U' carries the SMTP line (C string).
std::optional<std::string_view> decode_unknown(std::string_view data);

// ---- Replies --------------------------------------------------------------------------------

void append_be32(std::string& out, uint32_t value);
uint32_t read_be32(const char* p);
void append_packet(std::string& out, char command, std::string_view data);

// SMFIC_OPTNEG reply; a non-empty list for SMFIM_* stage i goes out as (i, names\0).
void append_optneg(std::string& out, const OptNeg& reply,
                   const std::array<std::string, kMacroStages>& macro_lists);

// A reply without data: 'c', 'r', 't', 's'.
void append_bare(std::string& out, char command);

// The text of a 'y' reply: "550 5.7.1 text" ("550 text" without xcode). The text comes as
// smfi_setreply takes it, every '%' already doubled (Postfix and Sendmail expand it as a format
// character); CR, LF and NUL become spaces, so the reply stays one SMTP line.
std::string reply_text(std::string_view rcode, std::string_view xcode, std::string_view text);
void append_replycode(std::string& out, std::string_view reply_text);

void append_quarantine(std::string& out, std::string_view reason);
// 'm': index counts instances of `name` from 1; an empty value deletes the header.
void append_chgheader(std::string& out, uint32_t index, std::string_view name,
                      std::string_view value);
// 'i': index 0 = before the first header.
void append_insheader(std::string& out, uint32_t index, std::string_view name,
                      std::string_view value);

}  // namespace agentgate::milter::native
