// `agentgatectl init` and `agentgatectl config ...`: setting up a store and a config file.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "registry/audit.hpp"
#include "registry/store.hpp"

namespace agentgate::cli {

void add_admin_commands(CLI::App& app, Context& ctx) {
  auto actor = std::make_shared<std::string>();
  auto* init = app.add_subcommand("init", "Create the store or apply pending schema migrations");
  init->add_option("--actor", *actor, "Who initialises (default: the OS user)");
  init->callback([&ctx, actor] {
    ctx.run = [&ctx, actor] {
      const auto& url = ctx.config().store.url;
      if (url.starts_with("sqlite://")) {
        std::filesystem::path file(url.substr(9));
        if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
      }
      auto& store = ctx.store(true);
      int applied = store.migrate();
      int version = store.schema_version();
      if (applied > 0) {
        auto who = ctx.actor(actor->empty() ? ctx.os_user() : *actor);
        store.write([&](registry::StoreTx& tx) {
          registry::append_audit(tx, {who.name,
                                      who.os_user,
                                      "store.migrate",
                                      registry::redact_store_url(url),
                                      {{"schema_version", version}, {"applied", applied}}});
        });
      }
      if (ctx.json)
        ctx.print_json({{"store", registry::redact_store_url(url)},
                        {"schema_version", version},
                        {"applied", applied}});
      else
        fmt::print("store {}: schema version {} ({} migration{} applied)\n",
                   registry::redact_store_url(url), version, applied, applied == 1 ? "" : "s");
      return kOk;
    };
  });

  auto* config = app.add_subcommand("config", "Configuration helpers");
  config->require_subcommand(1);
  auto* example = config->add_subcommand("example", "Print a fully commented example config");
  example->callback([&ctx] {
    ctx.run = [] {
      std::cout << common::example_config();
      return kOk;
    };
  });
  auto* check =
      config->add_subcommand("check", "Validate the config file (-c) and print a summary");
  check->callback([&ctx] {
    ctx.run = [&ctx] {
      const auto& c = ctx.config();
      if (ctx.json) {
        ctx.print_json({{"source", c.source},
                        {"store", registry::redact_store_url(c.store.url)},
                        {"mode", c.policy.mode == common::Mode::enforce ? "enforce" : "monitor"},
                        {"agent_domains", c.policy.agent_domains}});
      } else {
        fmt::print("{}: OK (store {}, mode {}, {} agent domain(s))\n", c.source,
                   registry::redact_store_url(c.store.url),
                   c.policy.mode == common::Mode::enforce ? "enforce" : "monitor",
                   c.policy.agent_domains.size());
      }
      return kOk;
    };
  });
}

}  // namespace agentgate::cli
