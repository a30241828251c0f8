// `agentgatectl events verify FILE`: checks the event log's hash chain.
#include <fstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "common/event_chain.hpp"

namespace agentgate::cli {

void add_events_commands(CLI::App& app, Context& ctx) {
  auto* events = app.add_subcommand("events", "The decision event log");
  events->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto* verify = events->add_subcommand("verify", "Check the hash chain of an events.jsonl file");
  verify->add_option("FILE", *file, "Event log (JSON Lines)")->required();
  verify->callback([&ctx, file] {
    ctx.run = [&ctx, file] {
      std::ifstream in(*file);
      if (!in) throw UsageError(fmt::format("cannot read {}", *file));
      auto c = common::verify_event_stream(in);
      if (ctx.json) {
        nlohmann::json j = {{"ok", c.ok},
                            {"records", c.records},
                            {"head", c.head},
                            {"first_sequence", c.first_sequence}};
        if (!c.ok) j["first_bad_line"] = c.first_bad_line, j["problem"] = c.problem;
        ctx.print_json(j);
      } else if (c.ok) {
        fmt::print("event chain OK: {} records, head {}\n", c.records, c.head);
        if (c.first_sequence > 1)
          fmt::print(
              "note: the file starts at sequence {} (rotated); its first prev_hash must be "
              "the previous file's head\n",
              c.first_sequence);
      } else {
        fmt::print("event chain BROKEN at line {}: {} ({} records before it verified)\n",
                   c.first_bad_line, c.problem, c.records);
      }
      return c.ok ? kOk : kRefused;
    };
  });
}

}  // namespace agentgate::cli
