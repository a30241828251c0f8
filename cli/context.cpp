// Context: config and store loading, actor resolution.
#include "cli/context.hpp"

#include "cli/control_client.hpp"

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

namespace agentgate::cli {

const common::Config& Context::config() {
  if (!config_) {
    namespace fs = std::filesystem;
    if (!config_explicit && !fs::exists(config_path)) {
      config_ = common::parse_config("", "(built-in defaults)");
    } else {
      try {
        config_ = common::load_config(config_path);
      } catch (const common::ConfigError& e) {
        throw UsageError(fmt::format("config: {}", e.what()));
      }
    }
  }
  return *config_;
}

registry::Store& Context::store(bool create) {
  if (!store_) {
    try {
      store_ = registry::open_store(config().store.url, create);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  }
  return *store_;
}

registry::Registry Context::registry() {
  wrote = true;
  return registry::Registry(store(), config().governance);
}

std::string Context::os_user() const {
  uid_t uid = geteuid();
  if (auto* pw = getpwuid(uid)) return pw->pw_name;
  return fmt::format("uid:{}", uid);
}

registry::Actor Context::actor(const std::string& name) {
  auto user = os_user();
  if (geteuid() != 0 && name != user)
    throw RefusedError("actor_not_self",
                       fmt::format("--actor '{}' differs from the OS user '{}'; only root may "
                                   "record an action for another person",
                                   name, user));
  return {name, user};
}

void Context::notify_daemon() {
  const auto& socket = config().control.socket;
  if (socket.empty()) return;
  std::string error;
  auto reply = control_request(socket, "refresh", std::chrono::seconds(2), &error);
  if (reply && reply->value("ok", false)) return;
  if (reply) error = reply->value("error", std::string("the daemon could not re-read the store"));
  std::cerr << fmt::format(
      "agentgatectl: note: agentgated not notified ({}); a running daemon applies the change "
      "within store.poll_interval ({} ms)\n",
      error, config().store.poll_interval.count());
}

void Context::print_json(const nlohmann::json& j) const {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace agentgate::cli
