// The agent identity record and its vocabulary (SPEC section 3). Plain data: the registry
// persists it, the lifecycle rules transform it, the snapshot indexes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgate::policy {

using Time = std::chrono::sys_seconds;

enum class Status { requested, owner_approved, active, suspended, expired, revoked, rejected };
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);
// revoked and rejected are terminal: nothing leaves them.
bool is_terminal(Status s);

// What an inbox may do. `receive` is passive; every other capability lets the agent act, which
// makes the identity privileged (the system owner must approve it too).
enum class Capability : std::uint8_t { receive, reply, send, escalate, invoke };
inline constexpr Capability kAllCapabilities[] = {Capability::receive, Capability::reply,
                                                  Capability::send, Capability::escalate,
                                                  Capability::invoke};
std::string_view to_string(Capability c);
std::optional<Capability> parse_capability(std::string_view s);

class CapabilitySet {
 public:
  constexpr CapabilitySet() = default;
  static CapabilitySet of(std::initializer_list<Capability> caps);
  void add(Capability c) { bits_ |= bit(c); }
  bool has(Capability c) const { return (bits_ & bit(c)) != 0; }
  bool empty() const { return bits_ == 0; }
  bool subset_of(CapabilitySet other) const { return (bits_ & ~other.bits_) == 0; }
  bool privileged() const { return (bits_ & ~bit(Capability::receive)) != 0; }
  std::uint8_t bits() const { return bits_; }
  static CapabilitySet from_bits(std::uint8_t b) {
    CapabilitySet s;
    s.bits_ = b & 0x1f;
    return s;
  }
  std::string to_string() const;  // "receive,reply"
  bool operator==(const CapabilitySet&) const = default;

 private:
  static constexpr std::uint8_t bit(Capability c) {
    return static_cast<std::uint8_t>(1u << static_cast<unsigned>(c));
  }
  std::uint8_t bits_ = 0;
};

enum class ApprovalRole { owner, ig, system };
std::string_view to_string(ApprovalRole r);
std::optional<ApprovalRole> parse_approval_role(std::string_view s);

struct Approval {
  ApprovalRole role;
  std::string actor;
  Time at;
  std::string comment;
};

struct Identity {
  std::string id;
  std::string inbox;  // normalised
  std::string purpose;
  std::string business_owner;
  std::string system_owner;
  std::string requester;    // of the current approval round
  std::string ig_reviewer;  // set by the IG approval; "" before
  CapabilitySet actions;
  std::vector<std::string> principals;                     // "sasl:LOGIN", "cert:SUBJECT"
  std::map<Capability, std::vector<std::string>> targets;  // action -> recipient patterns
  std::vector<std::string> accept_from;
  std::vector<std::string> grant_issuers;
  Time expires_at{};
  std::string revocation_trigger;
  std::string credential_type;
  Status status = Status::requested;
  Time created_at{};
  Time updated_at{};
  // Approval rounds: the first request is round 1; each renewal opens the next round.
  int round = 1;
  std::vector<Approval> approvals;  // of the current round
  // A renewal of a still-live identity waits here until its round is fully approved.
  std::optional<Time> renewal_expires_at;
  std::string status_reason;  // why it was last rejected/suspended/revoked
};

// The status every reader must use: a live identity past expires_at is expired, whether or not
// anything has written that down yet. Valid while now < expires_at.
Status effective_status(const Identity& identity, Time now);

}  // namespace agentgate::policy
