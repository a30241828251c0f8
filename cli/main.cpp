// agentgatectl: the admin and SOC command line. main() is the one exception barrier: every
// failure becomes a message on stderr and the exit status SPEC section 7 defines.
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"

int main(int argc, char** argv) {
  using namespace agentgate::cli;
  Context ctx;
  const char* env_config = std::getenv("AGENTGATE_CONFIG");
  ctx.config_path = env_config ? env_config : agentgate::common::kDefaultConfigPath;
  ctx.config_explicit = env_config != nullptr;

  CLI::App app{"agentgatectl: govern AI-agent mailboxes (registry, audit, quarantine, events)"};
  app.set_version_flag("--version", std::string("agentgatectl ") + AGENTGATE_VERSION);
  app.add_option_function<std::string>(
      "-c,--config",
      [&](const std::string& path) {
        ctx.config_path = path;
        ctx.config_explicit = true;
      },
      "Config file (default /etc/agentgate/agentgate.toml, or $AGENTGATE_CONFIG)");
  app.add_flag("--json", ctx.json, "Machine-readable output on read commands");
  app.require_subcommand(1);
  app.fallthrough();
  add_admin_commands(app, ctx);
  add_identity_commands(app, ctx);
  add_audit_commands(app, ctx);
  add_events_commands(app, ctx);
  add_grant_commands(app, ctx);
  add_sign_commands(app, ctx);
  add_explain_commands(app, ctx);
  add_status_commands(app, ctx);
  add_quarantine_commands(app, ctx);
  add_report_commands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }
  try {
    if (!ctx.run) return kUsage;
    int rc = ctx.run();
    if (rc == kOk && ctx.wrote) ctx.notify_daemon();
    return rc;
  } catch (const RefusedError& e) {
    std::cerr << "agentgatectl: refused (" << e.rule << "): " << e.what() << "\n";
    return kRefused;
  } catch (const UsageError& e) {
    std::cerr << "agentgatectl: " << e.what() << "\n";
    return kUsage;
  } catch (const EnvironmentError& e) {
    std::cerr << "agentgatectl: " << e.what() << "\n";
    return kEnvironment;
  } catch (const agentgate::registry::StoreError& e) {
    std::cerr << "agentgatectl: " << e.what() << "\n";
    return kEnvironment;
  } catch (const std::exception& e) {
    std::cerr << "agentgatectl: internal error: " << e.what() << "\n";
    return kEnvironment;
  }
}
