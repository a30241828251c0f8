// String forms of the identity vocabulary and the effective-status rule.
#include "policy/identity.hpp"

#include <array>

namespace agentgate::policy {
namespace {
constexpr std::array<std::string_view, 7> kStatus = {
    "requested", "owner_approved", "active", "suspended", "expired", "revoked", "rejected"};
constexpr std::array<std::string_view, 5> kCaps = {"receive", "reply", "send", "escalate",
                                                   "invoke"};
constexpr std::array<std::string_view, 3> kRoles = {"owner", "ig", "system"};

template <typename E, size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(Status s) {
  return kStatus[static_cast<size_t>(s)];
}
std::optional<Status> parse_status(std::string_view s) {
  return lookup<Status>(kStatus, s);
}
bool is_terminal(Status s) {
  return s == Status::revoked || s == Status::rejected;
}

std::string_view to_string(Capability c) {
  return kCaps[static_cast<size_t>(c)];
}
std::optional<Capability> parse_capability(std::string_view s) {
  return lookup<Capability>(kCaps, s);
}

std::string_view to_string(ApprovalRole r) {
  return kRoles[static_cast<size_t>(r)];
}
std::optional<ApprovalRole> parse_approval_role(std::string_view s) {
  return lookup<ApprovalRole>(kRoles, s);
}

CapabilitySet CapabilitySet::of(std::initializer_list<Capability> caps) {
  CapabilitySet s;
  for (auto c : caps) s.add(c);
  return s;
}

std::string CapabilitySet::to_string() const {
  std::string out;
  for (auto c : kAllCapabilities) {
    if (!has(c)) continue;
    if (!out.empty()) out += ',';
    out += policy::to_string(c);
  }
  return out;
}

Status effective_status(const Identity& identity, Time now) {
  bool live = identity.status == Status::active || identity.status == Status::suspended;
  if (live && now >= identity.expires_at) return Status::expired;
  return identity.status;
}

}  // namespace agentgate::policy
