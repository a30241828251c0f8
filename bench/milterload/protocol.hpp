// Milter protocol 6 on the wire, MTA side, as Postfix's milter8.c speaks it: packet framing
// (4-byte big-endian length counting the command byte, command byte, data), the option
// negotiation Postfix 3.7 offers, and parsing of the milter's negotiation reply. Pure: no I/O.
#pragma once

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentgate::bench {

// What Postfix 3.7 offers in SMFIC_OPTNEG with milter_protocol = 6.
inline constexpr uint32_t kMtaVersion = SMFI_PROT_VERSION;
inline constexpr uint32_t kMtaActions = SMFI_CURR_ACTS;   // 0x1FF: every SMFIF_*
inline constexpr uint32_t kMtaProtocol = SMFI_CURR_PROT;  // 0x1FFFFF: every SMFIP_* incl. NR_*
inline constexpr size_t kBodyChunk = MILTER_CHUNK_SIZE;   // 65535
inline constexpr uint32_t kMaxReplyLength = 64u << 20;    // sanity bound on a reply packet

// Macro stages, indexed by SMFIM_* (note SMFIM_EOM = 5 < SMFIM_EOH = 6).
inline constexpr size_t kMacroStages = SMFIM_LAST + 1;

void append_be32(std::string& out, uint32_t value);
uint32_t read_be32(const char* p);

// Appends one packet: length, command, data.
void append_packet(std::string& out, char command, std::string_view data);
std::string make_packet(char command, std::string_view data);

// Appends a NUL-terminated string (the protocol's string argument form).
inline void append_cstring(std::string& out, std::string_view s) {
  out.append(s);
  out.push_back('\0');
}

std::string optneg_request();

struct Negotiation {
  uint32_t version = 0;
  uint32_t actions = 0;   // SMFIF_* the milter may use
  uint32_t protocol = 0;  // SMFIP_*: steps not to send (NO*), steps not answered (NR_*)
  // Macro name lists the milter asked for (SMFIF_SETSYMLIST); empty = Postfix's default list.
  std::array<std::string, kMacroStages> macro_lists;
  // Steps outside the milter's protocol version: never sent, not even their macros.
  uint32_t non_protocol = 0;

  bool has(uint32_t flag) const { return (protocol & flag) != 0; }
};

// Parses the data of the milter's SMFIC_OPTNEG reply and checks it as Postfix does (version not
// above ours, no action we did not offer). nullopt and `error` set on failure.
std::optional<Negotiation> parse_optneg_reply(std::string_view data, std::string& error);

// "NR_CONN|NR_HELO|NOBODY|..." for reports.
std::string describe_protocol(uint32_t protocol);
std::string describe_actions(uint32_t actions);

}  // namespace agentgate::bench
