// Shared state of one agentgatectl run: global flags, the config, the store (opened on first
// use), the acting user, output helpers, and the exceptions that map to exit statuses
// (SPEC section 7: 0 done, 1 refused, 2 bad usage or input, 3 environment failure).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "policy/result.hpp"
#include "registry/registry.hpp"
#include "registry/store.hpp"

namespace agentgate::cli {

enum ExitStatus { kOk = 0, kRefused = 1, kUsage = 2, kEnvironment = 3 };

// Refused by a governance rule, policy or verification; or the thing asked for does not exist.
struct RefusedError : std::runtime_error {
  RefusedError(std::string rule_, const std::string& message)
      : std::runtime_error(message), rule(std::move(rule_)) {}
  std::string rule;
};
// Bad usage or input: a malformed flag value, an unreadable input file.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The environment failed: the store or the daemon cannot be reached (exit 3).
struct EnvironmentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Context {
 public:
  std::string config_path;
  bool config_explicit = false;
  bool json = false;
  std::function<int()> run;  // set by the chosen subcommand
  bool wrote = false;        // a registry write ran: tell the daemon (notify_daemon)

  const common::Config& config();
  registry::Store& store(bool create = false);
  registry::Registry registry();
  // The actor for a write: --actor, checked against the OS user (non-root acts only as itself).
  registry::Actor actor(const std::string& name);
  std::string os_user() const;

  // Turns a refusal into RefusedError (exit 1) with the rule's message.
  // Returns a copy: callers often pass a temporary Result.
  template <typename T>
  T check(const policy::Result<T>& r) {
    if (!r.ok()) throw RefusedError(r.refusal().rule, r.refusal().message);
    return r.value();
  }
  void print_json(const nlohmann::json& j) const;
  // After a committed write: asks the running agentgated to re-read the registry now, so the
  // change is in force when this command returns. A daemon that cannot be reached gets a note
  // on stderr; it picks the change up within store.poll_interval anyway.
  void notify_daemon();

 private:
  std::optional<common::Config> config_;
  std::unique_ptr<registry::Store> store_;
};

}  // namespace agentgate::cli
