// agentgate.toml, parsed once into typed, immutable values (SPEC section 2). Loading validates
// every key: an unknown key, a wrong type or a bad value is an error naming file, line and key.
#pragma once

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/governance.hpp"
#include "policy/grant.hpp"
#include "policy/reason.hpp"
#include "policy/settings.hpp"

namespace agentgate::common {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using policy::Mode;

struct MilterSettings {
  std::string socket = "unix:/run/agentgate/milter.sock";
  std::string user;   // drop privileges to this user after opening sockets ("" = stay)
  std::string group;  // group owning the unix socket ("" = the user's group)
  int socket_mode = 0660;
  // The milter protocol implementation: "libmilter", or "native" (agentgate's own epoll engine,
  // a few system calls per message instead of ~220; docs/benchmarks.md).
  std::string engine = "libmilter";
  // The native engine's event loops (threads), each serving its share of the connections;
  // 0: one per CPU the daemon may run on. libmilter starts a thread per connection instead.
  int threads = 0;
};

struct ControlSettings {
  std::string socket = "/run/agentgate/control.sock";
  std::string metrics = "127.0.0.1:9487";
  std::string group;
};

struct StoreSettings {
  std::string url = "sqlite:///var/lib/agentgate/registry.db";
  std::chrono::seconds max_staleness{30};
  std::chrono::milliseconds poll_interval{200};
};

struct EventSettings {
  std::string path = "/var/log/agentgate/events.jsonl";
  bool tempfail_on_write_error = true;
};

struct MtaSettings {
  std::string kind = "postfix";
  std::string config_dir = "/etc/postfix";      // postfix -c DIR; for Sendmail the .cf file (-C)
  std::string sendmail = "/usr/sbin/sendmail";  // Sendmail's binary (kind = "sendmail")
  std::string queue_dir = "/var/spool/mqueue";  // Sendmail's QueueDirectory (hf/df files)
  // This MTA's name in events (observer.hostname) and in the shared quarantine index; ""
  // means the machine's host name. Set it where several MTAs share a host or a name.
  std::string host;
};

struct Config {
  std::string source;  // file it came from ("" for built-in defaults)
  MilterSettings milter;
  ControlSettings control;
  StoreSettings store;
  policy::PolicySettings policy;
  policy::GovernanceRules governance;  // agent domains and address rules copied from [policy]
  policy::GrantRules grants;           // [governance] max_grant_ttl
  EventSettings events;
  MtaSettings mta;
};

Config load_config(const std::string& path);
// The name this MTA goes by in events and the quarantine index: [mta] host, else gethostname().
std::string mta_host(const MtaSettings& mta);
Config parse_config(std::string_view text, const std::string& source_name);

// The fully commented example printed by `agentgatectl config example`.
std::string_view example_config();

inline constexpr const char* kDefaultConfigPath = "/etc/agentgate/agentgate.toml";

}  // namespace agentgate::common
