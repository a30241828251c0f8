// `agentgatectl report [--since 7d] [--dormant-days 14] [--expiring-within 14d] [--events FILE]
// -o FILE`: the SOC report as one self-contained HTML page (cli/report.hpp), or with --json the
// same data as JSON on stdout. This file does the I/O: it reads the event log, the identities
// and the held quarantine rows, and writes the page atomically (temp file + rename), so a
// reader never sees half a report. Exit 2 on bad flags or a line that is not an event (named
// by line number), 3 when an input cannot be read or the output cannot be written.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/report.hpp"
#include "common/timefmt.hpp"

namespace agentgate::cli {
namespace {

struct ReportArgs {
  std::string since = "7d", expiring = "14d", events, output;
  int dormant_days = 14;
};

// The decisions at or after `from`. Non-decision records (release, delete) are skipped; a line
// that is not an event is an error, as in `events export`: a report must not silently undercount.
std::vector<report::Decision> read_decisions(const std::string& path, common::Time from) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw EnvironmentError(fmt::format("cannot read {}: is a directory", path));
  std::ifstream in(path);
  if (!in) throw EnvironmentError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::vector<report::Decision> out;
  std::string line;
  std::int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    auto p = j.is_discarded() ? report::ParsedEvent{report::EventKind::malformed, {}, "not JSON"}
                              : report::parse_event(j);
    if (p.kind == report::EventKind::malformed)
      throw UsageError(fmt::format("{}: line {}: {}", path, lineno, p.problem));
    if (p.kind == report::EventKind::decision && p.decision.at >= from)
      out.push_back(std::move(p.decision));
  }
  if (in.bad()) throw EnvironmentError(fmt::format("{}: read error after line {}", path, lineno));
  return out;
}

// Writes `text` to `path` through a temp file in the same directory and a rename.
void write_atomically(const std::string& path, const std::string& text) {
  auto dir = std::filesystem::path(path).parent_path();
  auto tmpl = (dir.empty() ? std::filesystem::path(".") : dir) /
              ("." + std::filesystem::path(path).filename().string() + ".XXXXXX");
  std::string name = tmpl.string();
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    throw EnvironmentError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  auto fail = [&](const char* what) {
    int e = errno;
    ::close(fd);
    ::unlink(name.c_str());
    throw EnvironmentError(fmt::format("{} {}: {}", what, path, std::strerror(e)));
  };
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) fail("cannot write");
  if (::close(fd) != 0) {
    ::unlink(name.c_str());
    throw EnvironmentError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  if (std::rename(name.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(name.c_str());
    throw EnvironmentError(fmt::format("cannot rename into {}: {}", path, std::strerror(e)));
  }
}

int run_report(Context& ctx, const ReportArgs& a) {
  auto now = common::now_seconds();
  report::Options o;
  o.now = now;
  auto since = common::parse_when(a.since, now, true);
  if (!since || *since > now)
    throw UsageError(fmt::format("--since '{}' is not a past duration or date", a.since));
  o.since = *since;
  auto expiring = common::parse_duration(a.expiring);
  if (!expiring || expiring->count() < 0)
    throw UsageError(fmt::format("--expiring-within '{}' is not a duration", a.expiring));
  o.expiring = *expiring;
  if (a.dormant_days < 1 || a.dormant_days > 3650)
    throw UsageError(fmt::format("--dormant-days {} is not between 1 and 3650", a.dormant_days));
  o.dormant = std::chrono::hours(24) * a.dormant_days;
  if (!ctx.json && a.output.empty()) throw UsageError("-o FILE is required (or use --json)");

  // Dormancy needs events from further back than the period when --dormant-days is longer.
  auto read_from = std::min(o.since, now - o.dormant);
  auto decisions =
      read_decisions(a.events.empty() ? ctx.config().events.path : a.events, read_from);
  auto identities = ctx.store().list_identities({});
  registry::QuarantineFilter held;
  held.status = "held";
  auto quarantine = ctx.store().list_quarantine(held);
  auto data = report::aggregate(decisions, identities, quarantine, o);
  if (ctx.json) {
    ctx.print_json(report::to_json(data));
    return kOk;
  }
  write_atomically(a.output, report::render_html(data));
  std::cerr << fmt::format("report written to {}: {} decisions, {} held\n", a.output, data.total,
                           data.held);
  return kOk;
}

}  // namespace

void add_report_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ReportArgs>();
  auto* c = app.add_subcommand(
      "report", "Write the SOC report: decisions, reasons, identities, quarantine (HTML)");
  c->add_option("--since", a->since, "Period start: duration back from now or ISO 8601 date")
      ->capture_default_str();
  c->add_option("--dormant-days", a->dormant_days,
                "An active identity no event named for this many days is dormant")
      ->capture_default_str();
  c->add_option("--expiring-within", a->expiring, "List live identities expiring within this")
      ->capture_default_str();
  c->add_option("--events", a->events, "Event log (default: the config's [events] path)");
  c->add_option("-o,--output", a->output, "HTML file to write (atomically)");
  c->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_report(ctx, *a); }; });
}

}  // namespace agentgate::cli
