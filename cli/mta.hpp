// What `agentgatectl quarantine` asks of the MTA that holds the mail. Postfix: the hold queue
// (postqueue -j, postcat, postsuper -H / -d, postqueue -i). Sendmail: the quarantine queue
// (hf/df files read directly; sendmail -qQ -qI<id> -Q to unquarantine, then -qI<id> to deliver;
// hf/df removed under the control file's lock to delete).
// Commands run without a shell, with the configured config directory (postfix -c, sendmail -C).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace agentgate::cli {

struct CommandResult {
  int status = -1;  // exit status; -1 when it could not run
  std::string out, err;
};

// Runs argv[0] (looked up in PATH, then /usr/sbin and /usr/lib/sendmail-style locations) with
// no shell and no stdin; captures up to `max_output` bytes of stdout.
CommandResult run_command(const std::vector<std::string>& argv, std::size_t max_output = 4u << 20);

class Mta {
 public:
  explicit Mta(const common::MtaSettings& settings) : s_(settings) {}
  // Is the message in the MTA's hold (quarantine) queue? Throws std::runtime_error when the
  // queue cannot be read.
  bool held(const std::string& queue_id) const;
  // The message as the queue holds it (headers and body); nullopt when it is not there.
  std::optional<std::string> content(const std::string& queue_id) const;
  // Release for delivery / delete. Throw std::runtime_error with the MTA's words on failure.
  void release(const std::string& queue_id) const;
  void remove(const std::string& queue_id) const;

 private:
  common::MtaSettings s_;
};

}  // namespace agentgate::cli
