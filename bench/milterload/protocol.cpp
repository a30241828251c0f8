// Packet framing and option negotiation (see protocol.hpp).
#include "protocol.hpp"

#include <utility>

#include <fmt/format.h>

namespace agentgate::bench {

void append_be32(std::string& out, uint32_t value) {
  char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                   static_cast<char>(value >> 8), static_cast<char>(value)};
  out.append(bytes, 4);
}

uint32_t read_be32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

void append_packet(std::string& out, char command, std::string_view data) {
  append_be32(out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(command);
  out.append(data);
}

std::string make_packet(char command, std::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  append_packet(out, command, data);
  return out;
}

std::string optneg_request() {
  std::string data;
  append_be32(data, kMtaVersion);
  append_be32(data, kMtaActions);
  append_be32(data, kMtaProtocol);
  return make_packet(SMFIC_OPTNEG, data);
}

std::optional<Negotiation> parse_optneg_reply(std::string_view data, std::string& error) {
  if (data.size() < MILTER_OPTLEN) {
    error = fmt::format("negotiation reply too short ({} bytes)", data.size());
    return std::nullopt;
  }
  Negotiation n;
  n.version = read_be32(data.data());
  n.actions = read_be32(data.data() + 4);
  n.protocol = read_be32(data.data() + 8);
  if (n.version > kMtaVersion || n.version < 2) {
    error = fmt::format("milter protocol version {} (MTA speaks 2..{})", n.version, kMtaVersion);
    return std::nullopt;
  }
  if ((n.actions & ~kMtaActions) != 0) {
    error = fmt::format("milter requests actions 0x{:x} beyond the offered 0x{:x}", n.actions,
                        kMtaActions);
    return std::nullopt;
  }
  // Postfix sends no events an older protocol version lacks (milter8_event_masks).
  if (n.version < 4) n.non_protocol |= SMFIP_NODATA;
  if (n.version < 3) n.non_protocol |= SMFIP_NOUNKNOWN;
  data.remove_prefix(MILTER_OPTLEN);
  while (!data.empty()) {
    auto nul = data.size() >= 4 ? data.find('\0', 4) : std::string_view::npos;
    if (nul == std::string_view::npos) {
      error = "malformed macro list in negotiation reply";
      return std::nullopt;
    }
    uint32_t stage = read_be32(data.data());
    // Unknown stages are ignored, as Postfix does (with a warning).
    if (stage < kMacroStages) n.macro_lists[stage] = std::string(data.substr(4, nul - 4));
    data.remove_prefix(nul + 1);
  }
  return n;
}

namespace {

template <size_t N>
std::string describe_bits(uint32_t mask, const std::pair<uint32_t, const char*> (&names)[N]) {
  std::string out;
  for (const auto& [bit, name] : names) {
    if ((mask & bit) == 0) continue;
    if (!out.empty()) out += '|';
    out += name;
    mask &= ~bit;
  }
  if (mask != 0) out += fmt::format("{}0x{:x}", out.empty() ? "" : "|", mask);
  return out.empty() ? "none" : out;
}

}  // namespace

std::string describe_protocol(uint32_t protocol) {
  static const std::pair<uint32_t, const char*> names[] = {
      {SMFIP_NOCONNECT, "NOCONNECT"},
      {SMFIP_NOHELO, "NOHELO"},
      {SMFIP_NOMAIL, "NOMAIL"},
      {SMFIP_NORCPT, "NORCPT"},
      {SMFIP_NOBODY, "NOBODY"},
      {SMFIP_NOHDRS, "NOHDRS"},
      {SMFIP_NOEOH, "NOEOH"},
      {SMFIP_NR_HDR, "NR_HDR"},
      {SMFIP_NOUNKNOWN, "NOUNKNOWN"},
      {SMFIP_NODATA, "NODATA"},
      {SMFIP_SKIP, "SKIP"},
      {SMFIP_RCPT_REJ, "RCPT_REJ"},
      {SMFIP_NR_CONN, "NR_CONN"},
      {SMFIP_NR_HELO, "NR_HELO"},
      {SMFIP_NR_MAIL, "NR_MAIL"},
      {SMFIP_NR_RCPT, "NR_RCPT"},
      {SMFIP_NR_DATA, "NR_DATA"},
      {SMFIP_NR_UNKN, "NR_UNKN"},
      {SMFIP_NR_EOH, "NR_EOH"},
      {SMFIP_NR_BODY, "NR_BODY"},
      {SMFIP_HDR_LEADSPC, "HDR_LEADSPC"},
  };
  return describe_bits(protocol, names);
}

std::string describe_actions(uint32_t actions) {
  static const std::pair<uint32_t, const char*> names[] = {
      {SMFIF_ADDHDRS, "ADDHDRS"},       {SMFIF_CHGBODY, "CHGBODY"},
      {SMFIF_ADDRCPT, "ADDRCPT"},       {SMFIF_DELRCPT, "DELRCPT"},
      {SMFIF_CHGHDRS, "CHGHDRS"},       {SMFIF_QUARANTINE, "QUARANTINE"},
      {SMFIF_CHGFROM, "CHGFROM"},       {SMFIF_ADDRCPT_PAR, "ADDRCPT_PAR"},
      {SMFIF_SETSYMLIST, "SETSYMLIST"},
  };
  return describe_bits(actions, names);
}

}  // namespace agentgate::bench
