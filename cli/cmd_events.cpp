// `agentgatectl events verify FILE`: checks the event log's hash chain.
// `agentgatectl events export --format ecs|ocsf [--since D] [FILE]`: the events as JSON Lines
// for a SIEM, in file order: ECS lines exactly as written, or OCSF 1.1 Email Activity records
// (cli/ocsf.hpp). A line that is not a JSON object, or that lacks what the output needs
// (@timestamp for --since and ocsf, event.action for ocsf), stops the export with its line
// number (exit 2): it is never skipped.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/ocsf.hpp"
#include "common/event_chain.hpp"
#include "common/timefmt.hpp"

namespace agentgate::cli {
namespace {

struct ExportOptions {
  std::string format;
  std::string since;
  std::string file;
};

void write_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

// Streams the selected records to stdout. Records before a bad line have been written when
// it throws; the exit status says the export is incomplete.
void export_stream(std::istream& in, const std::string& name, bool ocsf,
                   std::optional<common::Time> from, const OcsfOptions& options) {
  std::string line;
  std::int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto bad = [&](std::string_view why) {
      return UsageError(fmt::format("{}: line {}: {}", name, lineno, why));
    };
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) throw bad("not JSON");
    if (!j.is_object()) throw bad("not a JSON object");
    if (from) {
      auto ts = j.find("@timestamp");
      auto t = ts != j.end() && ts->is_string() ? common::parse_iso8601(ts->get<std::string>())
                                                : std::nullopt;
      if (!t) throw bad("@timestamp is missing or not ISO 8601");
      if (*t < *from) continue;
    }
    if (!ocsf) {
      write_line(line);  // byte for byte as written: the hash chain stays checkable
      continue;
    }
    auto record = ecs_to_ocsf(j, options);
    if (!record.ok()) throw bad(record.refusal().message);
    write_line(record.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (in.bad()) throw EnvironmentError(fmt::format("{}: read error after line {}", name, lineno));
}

int run_export(Context& ctx, const ExportOptions& o) {
  if (o.format != "ecs" && o.format != "ocsf")
    throw UsageError(fmt::format("--format '{}' is not one of ecs, ocsf", o.format));
  std::optional<common::Time> from;
  if (!o.since.empty()) {
    from = common::parse_when(o.since, common::now_seconds(), true);
    if (!from) throw UsageError(fmt::format("--since '{}' is not a duration or date", o.since));
  }
  std::string path = o.file.empty() ? ctx.config().events.path : o.file;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw EnvironmentError(fmt::format("cannot read {}: is a directory", path));
  std::ifstream in(path);
  if (!in) throw EnvironmentError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  OcsfOptions options{AGENTGATE_VERSION, std::filesystem::path(path).filename().string()};
  export_stream(in, path, o.format == "ocsf", from, options);
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw EnvironmentError(fmt::format("writing the export: {}", std::strerror(errno)));
  return kOk;
}

}  // namespace

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

  auto opts = std::make_shared<ExportOptions>();
  auto* exp = events->add_subcommand(
      "export",
      "Print events as JSON Lines for a SIEM: ECS as written, or OCSF 1.1 Email Activity");
  exp->add_option("--format", opts->format, "ecs (the records as written) or ocsf")->required();
  exp->add_option("--since", opts->since, "Duration back from now (7d) or ISO 8601 date");
  exp->add_option("FILE", opts->file, "Event log (default: the config's [events] path)");
  exp->callback([&ctx, opts] { ctx.run = [&ctx, opts] { return run_export(ctx, *opts); }; });
}

}  // namespace agentgate::cli
