// The identity vocabulary: status, capability and role names, capability sets, and the
// effective-status rule that turns a live identity into an expired one at expires_at.
#include <string>

#include <doctest/doctest.h>

#include "policy/identity.hpp"
#include "test_support.hpp"

namespace agentgate::policy {
namespace {

using namespace agentgate::testing;
using std::chrono::seconds;

TEST_CASE("identity: status names round-trip and only revoked and rejected are terminal") {
  struct Row {
    Status status;
    const char* name;
    bool terminal;
  };
  const Row rows[] = {
      {Status::requested, "requested", false}, {Status::owner_approved, "owner_approved", false},
      {Status::active, "active", false},       {Status::suspended, "suspended", false},
      {Status::expired, "expired", false},     {Status::revoked, "revoked", true},
      {Status::rejected, "rejected", true},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(to_string(row.status) == row.name);
      CHECK(parse_status(row.name) == row.status);
      CHECK(is_terminal(row.status) == row.terminal);
    }
  }
  SUBCASE("unknown and differently cased names are refused") {
    CHECK_FALSE(parse_status("Active").has_value());
    CHECK_FALSE(parse_status("").has_value());
    CHECK_FALSE(parse_status("pending").has_value());
  }
}

TEST_CASE("identity: capability and approval-role names round-trip") {
  const std::pair<Capability, const char*> caps[] = {{Capability::receive, "receive"},
                                                     {Capability::reply, "reply"},
                                                     {Capability::send, "send"},
                                                     {Capability::escalate, "escalate"},
                                                     {Capability::invoke, "invoke"}};
  for (const auto& [cap, name] : caps) {
    SUBCASE(name) {
      CHECK(to_string(cap) == name);
      CHECK(parse_capability(name) == cap);
    }
  }
  const std::pair<ApprovalRole, const char*> roles[] = {
      {ApprovalRole::owner, "owner"}, {ApprovalRole::ig, "ig"}, {ApprovalRole::system, "system"}};
  for (const auto& [role, name] : roles) {
    SUBCASE((std::string("role ") + name).c_str()) {
      CHECK(to_string(role) == name);
      CHECK(parse_approval_role(name) == role);
    }
  }
  SUBCASE("unknown names are refused") {
    CHECK_FALSE(parse_capability("forward").has_value());
    CHECK_FALSE(parse_capability("Send").has_value());
    CHECK_FALSE(parse_approval_role("business").has_value());
  }
}

TEST_CASE("identity: a capability set is privileged as soon as it can act") {
  using C = Capability;
  struct Row {
    const char* name;
    CapabilitySet set;
    bool privileged;
    const char* text;
  };
  const Row rows[] = {
      {"empty", CapabilitySet{}, false, ""},
      {"receive only", CapabilitySet::of({C::receive}), false, "receive"},
      {"reply", CapabilitySet::of({C::receive, C::reply}), true, "receive,reply"},
      {"send without receive", CapabilitySet::of({C::send}), true, "send"},
      {"invoke", CapabilitySet::of({C::invoke}), true, "invoke"},
      {"everything, listed out of order",
       CapabilitySet::of({C::invoke, C::escalate, C::send, C::reply, C::receive}), true,
       "receive,reply,send,escalate,invoke"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(row.set.privileged() == row.privileged);
      CHECK(row.set.to_string() == row.text);
      CHECK(row.set.empty() == (*row.text == 0));
      CHECK(CapabilitySet::from_bits(row.set.bits()) == row.set);
    }
  }
}

TEST_CASE("identity: capability subsets and stored bits") {
  using C = Capability;
  auto all = CapabilitySet::of({C::receive, C::reply, C::send, C::escalate, C::invoke});
  auto some = CapabilitySet::of({C::reply, C::send});
  CHECK(some.subset_of(all));
  CHECK_FALSE(all.subset_of(some));
  CHECK(CapabilitySet{}.subset_of(some));
  CHECK_FALSE(CapabilitySet::of({C::invoke}).subset_of(some));
  SUBCASE("bits beyond the five capabilities are dropped when reading a stored value") {
    CHECK(CapabilitySet::from_bits(0xff) == all);
    CHECK(CapabilitySet::from_bits(0xe0).empty());
  }
}

TEST_CASE("identity: effective status turns live identities expired at the boundary second") {
  Identity i = sample_identity();
  i.expires_at = kNow;
  struct Row {
    const char* name;
    Status stored;
    seconds at;
    Status effective;
  };
  const Row rows[] = {
      {"active one second before", Status::active, seconds(-1), Status::active},
      {"active at expires_at", Status::active, seconds(0), Status::expired},
      {"active long after", Status::active, seconds(86400 * 400), Status::expired},
      {"suspended one second before", Status::suspended, seconds(-1), Status::suspended},
      {"suspended at expires_at", Status::suspended, seconds(0), Status::expired},
      {"requested after expiry stays requested", Status::requested, seconds(10), Status::requested},
      {"owner_approved after expiry", Status::owner_approved, seconds(10), Status::owner_approved},
      {"revoked stays revoked", Status::revoked, seconds(10), Status::revoked},
      {"rejected stays rejected", Status::rejected, seconds(10), Status::rejected},
      {"stored expired before expires_at", Status::expired, seconds(-10), Status::expired},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      i.status = row.stored;
      CHECK(effective_status(i, kNow + row.at) == row.effective);
    }
  }
}

}  // namespace
}  // namespace agentgate::policy
