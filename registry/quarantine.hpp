// The quarantine index (issue: SOC review). The MTA's hold queue keeps the mail but no reason;
// the store keeps, for each quarantine decision, who and what it was about and why, and what
// an analyst later did with it (held -> released | deleted).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/identity.hpp"

namespace agentgate::registry {

struct QuarantineRecord {
  std::string queue_id;  // the MTA's queue id
  std::string mta_host;  // the gateway that decided (observer.hostname)
  policy::Time at{};
  std::string identity;  // sender's identity, or the agent recipient's for inbound mail
  std::string grant, task;
  std::string mail_from;
  std::vector<std::string> recipients;
  std::string header_from, subject, message_id;
  std::vector<std::string> reasons;
  std::string event_id;
  std::string context;          // JSON: the identity (and grant) as they were at decision time
  std::string status = "held";  // held | released | deleted
  std::string acted_by, justification;
  policy::Time acted_at{};
};

struct QuarantineFilter {
  std::optional<policy::Time> since, until;
  std::string identity, reason, recipient, status, host, queue_id;
};

}  // namespace agentgate::registry
