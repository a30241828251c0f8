// SHA-256 and encodings used by the audit chain, the event chain and proofs. Pure: bytes in,
// bytes out (OpenSSL does the arithmetic).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentgate::policy {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::string_view data);
std::string to_hex(const Sha256& digest);
std::string sha256_hex(std::string_view data);

// Unpadded base64url (RFC 7515 section 2).
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace agentgate::policy
