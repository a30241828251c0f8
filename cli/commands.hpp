// Registration of agentgatectl's command groups, one file each.
#pragma once

namespace CLI {
class App;
}

namespace agentgate::cli {
class Context;
void add_admin_commands(CLI::App& app, Context& ctx);       // init, config
void add_identity_commands(CLI::App& app, Context& ctx);    // identity ...
void add_audit_commands(CLI::App& app, Context& ctx);       // audit ...
void add_events_commands(CLI::App& app, Context& ctx);      // events ...
void add_grant_commands(CLI::App& app, Context& ctx);       // grant ...
void add_sign_commands(CLI::App& app, Context& ctx);        // sign
void add_explain_commands(CLI::App& app, Context& ctx);     // explain
void add_status_commands(CLI::App& app, Context& ctx);      // status
void add_quarantine_commands(CLI::App& app, Context& ctx);  // quarantine ...
void add_report_commands(CLI::App& app, Context& ctx);      // report
}  // namespace agentgate::cli
