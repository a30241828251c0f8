// What happened to one message: the milter's final reply, the step that produced it, and the
// non-final replies seen on the way (modification requests, quarantine, skip, progress).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentgate::bench {

enum class FinalReply : uint8_t {
  continue_,
  accept,
  reject,
  tempfail,
  discard,
  replycode,
  shutdown
};
inline constexpr size_t kFinalReplies = 7;

enum class Stage : uint8_t { connect, helo, mail, rcpt, data, header, eoh, body, eom };
inline constexpr size_t kStages = 9;

enum class Modification : uint8_t {
  add_header,
  insert_header,
  change_header,
  quarantine,
  change_from,
  add_rcpt,
  add_rcpt_par,
  delete_rcpt,
  replace_body,
};
inline constexpr size_t kModifications = 9;

std::string_view name_of(FinalReply r);
std::string_view name_of(Stage s);
std::string_view name_of(Modification m);

struct MessageOutcome {
  FinalReply reply = FinalReply::continue_;
  Stage stage = Stage::eom;
  std::string code;  // first three digits of an SMFIR_REPLYCODE reply
  std::array<uint32_t, kModifications> modifications{};
  uint32_t rcpt_refused = 0;  // recipients refused while others were accepted
  uint32_t skips = 0;         // SMFIR_SKIP replies
  uint32_t progress = 0;      // SMFIR_PROGRESS replies
};

}  // namespace agentgate::bench
