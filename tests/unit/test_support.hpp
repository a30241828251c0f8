// Shared fixtures for the unit tests: a fixed clock, a temporary directory that cleans up after
// itself, a fake AgentDirectory and a well-formed identity to start from. Test-only; never linked
// into a product binary.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy/governance.hpp"
#include "policy/grant.hpp"
#include "policy/identity.hpp"

namespace agentgate::testing {

using namespace std::chrono_literals;

// 2026-06-01T12:00:00Z: every policy test runs at this instant.
inline const policy::Time kNow{std::chrono::seconds{1780315200}};

// A mkdtemp directory removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path() / "agentgate-unit-XXXXXX";
    std::string tmpl = base.string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Stands in for the registry's agent index with the rule of SPEC section 3: an identity id, an
// inbox (case-insensitive) or a principal with or without its "sasl:"/"cert:" prefix.
class FakeAgents final : public policy::AgentDirectory {
 public:
  void add(std::string id, std::string inbox, std::vector<std::string> principals) {
    ids_.insert(std::move(id));
    inboxes_.insert(lower(inbox));
    for (auto& p : principals) principals_.insert(std::move(p));
  }
  bool is_agent(std::string_view name) const override {
    std::string n(name);
    return ids_.count(n) || inboxes_.count(lower(n)) || principals_.count(n) ||
           principals_.count("sasl:" + n) || principals_.count("cert:" + n);
  }

 private:
  static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  }
  std::set<std::string> ids_, inboxes_, principals_;
};

// The cast of the governance tests.
inline constexpr const char* kRequester = "rita";
inline constexpr const char* kBusinessOwner = "bob";
inline constexpr const char* kSystemOwner = "sam";
inline constexpr const char* kIgMember = "ivy";      // in ig_reviewers, never the recorded one
inline constexpr const char* kIgRecorded = "alice";  // in ig_reviewers, gives the IG approvals
inline constexpr const char* kSecurityOfficer = "soc-lead";
inline constexpr const char* kUnrelated = "mallory";
inline constexpr const char* kAgentId = "bot-one";  // an existing agent identity

inline policy::GovernanceRules governance_rules() {
  policy::GovernanceRules r;
  r.ig_reviewers = {kIgRecorded, kIgMember};
  r.security_officers = {kSecurityOfficer};
  r.agent_domains = {"agents.example.com"};
  r.agent_inboxes = {"Listed@Partner.Example.org"};
  return r;
}

inline FakeAgents fake_agents() {
  FakeAgents a;
  a.add(kAgentId, "bot-one@agents.example.com", {"sasl:bot-one", "cert:CN=bot-one"});
  return a;
}

// A privileged (receive + reply) identity exactly as request_identity would return it.
inline policy::Identity sample_identity(policy::Time now = kNow) {
  policy::Identity i;
  i.id = "helpdesk-bot";
  i.inbox = "helpdesk@agents.example.com";
  i.purpose = "answers helpdesk tickets";
  i.business_owner = kBusinessOwner;
  i.system_owner = kSystemOwner;
  i.requester = kRequester;
  i.actions = policy::CapabilitySet::of({policy::Capability::receive, policy::Capability::reply});
  i.principals = {"sasl:helpdesk"};
  i.targets[policy::Capability::reply] = {"*@example.com"};
  i.accept_from = {"*@example.com"};
  i.grant_issuers = {"orchestrator"};
  i.expires_at = now + std::chrono::days(30);
  i.revocation_trigger = "ticket system decommissioned";
  i.credential_type = "smtp-auth";
  i.status = policy::Status::requested;
  i.created_at = now;
  i.updated_at = now;
  return i;
}

// A grant for identity `identity_id` (task T-1, a dummy 32-byte key), issued at `now` and valid
// for `ttl`, without quotas.
inline policy::Grant sample_grant(std::string id, std::string identity_id, policy::Time now,
                                  std::chrono::seconds ttl = std::chrono::minutes(5)) {
  policy::Grant g;
  g.id = std::move(id);
  g.identity_id = std::move(identity_id);
  g.task_id = "T-1";
  g.public_key = std::string(32, 'k');
  g.issued_at = now;
  g.expires_at = now + ttl;
  return g;
}

}  // namespace agentgate::testing
