// `agentgatectl status`: the running daemon's own account of itself, from its control socket.
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/control_client.hpp"

namespace agentgate::cli {
namespace {

using nlohmann::literals::operator""_json_pointer;

std::string counts(const nlohmann::json& obj) {
  std::string out;
  for (const auto& [k, v] : obj.items())
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", k, v.dump());
  return out.empty() ? "none" : out;
}

int status(Context& ctx) {
  const auto& socket = ctx.config().control.socket;
  std::string error;
  auto s = control_request(socket, "status", std::chrono::seconds(5), &error);
  if (!s) throw EnvironmentError("agentgated not reachable: " + error);
  // Exit 3 also when the daemon runs on a stale snapshot: it cannot reach its store.
  int rc = s->value("/registry/fresh"_json_pointer, false) ? kOk : kEnvironment;
  if (ctx.json) {
    ctx.print_json(*s);
    return rc;
  }
  auto j = [&](const char* a, const char* b = nullptr) {
    const auto& v = b ? (*s)[a][b] : (*s)[a];
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  std::cout << fmt::format("agentgated {} (pid {}, host {}), up {}s, mode {}\n", j("version"),
                           j("pid"), j("host"), j("uptime_seconds"), j("mode"));
  std::cout << fmt::format(
      "registry   generation {}, {} identities, {} active grants, last store contact {} ms "
      "ago ({})\n",
      j("registry", "generation"), j("registry", "identities"), j("registry", "active_grants"),
      j("registry", "age_ms"), (*s)["registry"]["fresh"] == true ? "fresh" : "STALE");
  std::cout << fmt::format("store      {} ({} errors; change feed {}, {} notifications)\n",
                           j("store", "url"), j("store", "errors"), j("store", "change_feed"),
                           j("store", "notifications"));
  std::cout << fmt::format("events     {} ({} write errors)\n", j("events", "path"),
                           j("events", "write_errors"));
  std::cout << fmt::format("messages   {}\n", j("counts", "messages"));
  std::cout << fmt::format("actions    {}\n", counts((*s)["counts"]["by_action"]));
  std::cout << fmt::format("reasons    {}\n", counts((*s)["counts"]["by_reason"]));
  return rc;
}

}  // namespace

void add_status_commands(CLI::App& app, Context& ctx) {
  auto* c = app.add_subcommand("status", "Show the running agentgated's state (control socket)");
  c->callback([&ctx] { ctx.run = [&ctx] { return status(ctx); }; });
}

}  // namespace agentgate::cli
