// milterload: a milter-protocol load generator that speaks protocol 6 to a milter exactly as
// Postfix 3.7's milter8.c does (negotiation, macro packets, skipped and reply-less steps,
// ABORT after every message), to measure a milter without an MTA in the way. It reports
// throughput, latency, the milter's answers, and the CPU both sides spent.
//
// It must never hide a failure: every protocol or connection error is counted, the first ones
// are printed, and any error makes the exit status 1 (2: bad options or input).
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "load_run.hpp"
#include "message.hpp"
#include "report.hpp"

namespace {

using namespace agentgate::bench;

struct Cli {
  std::string socket;
  unsigned connections = 1;
  unsigned threads = 1;
  unsigned messages_per_connection = 1;
  uint64_t count = 0;
  double duration = 0;
  double warmup = 0;
  size_t size = 4096;
  std::string corpus;
  std::string from = "sender@bench.example";
  std::vector<std::string> rcpts;
  std::string login;
  int pid = 0;
  bool json = false;
  int timeout = 30;
  uint64_t max_errors = 100;
  std::string helo = "bench.example";
};

void define_options(CLI::App& app, Cli& cli) {
  app.add_option("-s,--socket", cli.socket, "milter socket: unix:/path or inet:PORT@HOST")
      ->required();
  app.add_option("-c,--connections", cli.connections, "concurrent milter connections")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("-t,--threads", cli.threads,
                 "event-loop threads the connections are spread over (default 1)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("-m,--messages-per-connection", cli.messages_per_connection,
                 "messages per connection (1: one connection per message, like one message "
                 "per SMTP session)")
      ->check(CLI::Range(1u, 1000000u));
  auto* count = app.add_option("-n,--count", cli.count, "measured messages to send");
  auto* duration =
      app.add_option("-d,--duration", cli.duration, "measure for this many seconds instead");
  count->excludes(duration);
  app.add_option("--warmup", cli.warmup, "seconds of load before measuring");
  auto* size = app.add_option("--size", cli.size, "synthetic message size in bytes");
  auto* corpus = app.add_option("--corpus", cli.corpus, "file of messages (#envelope ... #end)")
                     ->check(CLI::ExistingFile);
  size->excludes(corpus);
  app.add_option("--from", cli.from, "synthetic message: envelope sender")->excludes(corpus);
  app.add_option("--rcpt", cli.rcpts, "synthetic message: recipient (repeatable)")
      ->excludes(corpus);
  app.add_option("--login", cli.login, "synthetic message: SASL login ({auth_authen})")
      ->excludes(corpus);
  app.add_option("--pid", cli.pid, "the milter's process id, for its CPU and memory");
  app.add_flag("--json", cli.json, "print one JSON object");
  app.add_option("--timeout", cli.timeout, "seconds to wait for a reply or a write");
  app.add_option("--max-errors", cli.max_errors, "stop after this many errors");
  app.add_option("--helo", cli.helo, "HELO name");
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

SessionSettings session_settings(const Cli& cli) {
  SessionSettings s;
  s.endpoint = resolve_endpoint(cli.socket);
  s.helo = cli.helo;
  s.timeout_seconds = cli.timeout;
  s.macros.hostname = hostname();
  s.macros.daemon_addr = "127.0.0.1";
  s.macros.version = "Postfix 3.7.11";
  s.macros.client_name = "localhost";
  s.macros.client_addr = "127.0.0.1";
  s.macros.client = "localhost [127.0.0.1]";
  return s;
}

std::vector<PreparedMessage> prepare_messages(const Cli& cli, std::string& source) {
  std::vector<PreparedMessage> prepared;
  if (!cli.corpus.empty()) {
    for (const auto& m : load_corpus(cli.corpus)) prepared.push_back(prepare(m));
    source = fmt::format("corpus {} ({} messages)", cli.corpus, prepared.size());
    return prepared;
  }
  Envelope envelope{cli.from, cli.rcpts, cli.login};
  if (envelope.rcpts.empty()) envelope.rcpts.push_back("rcpt@bench.example");
  prepared.push_back(prepare(synthetic_message(cli.size, envelope)));
  source = fmt::format("synthetic {}-byte message ({} bytes sent as headers and body)", cli.size,
                       prepared.front().size);
  return prepared;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"milterload: milter protocol 6 load generator (speaks like Postfix's milter8)"};
  Cli cli;
  define_options(app, cli);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is not an error
  }
  if (cli.count == 0 && cli.duration <= 0) {
    fmt::print(stderr, "milterload: give -n COUNT or -d SECONDS\n");
    return 2;
  }

  RunOptions options;
  std::vector<PreparedMessage> messages;
  std::string source;
  try {
    options.session = session_settings(cli);
    messages = prepare_messages(cli, source);
  } catch (const std::exception& e) {
    fmt::print(stderr, "milterload: {}\n", e.what());
    return 2;
  }
  options.connections = cli.connections;
  options.threads = cli.threads;
  options.messages_per_connection = cli.messages_per_connection;
  options.count = cli.count;
  options.duration = cli.duration;
  options.warmup = cli.warmup;
  options.max_errors = cli.max_errors;
  if (cli.pid > 0) options.milter_pid = cli.pid;

  ErrorLog errors(20);
  RunReport report = run_load(options, messages, errors);
  report.socket = cli.socket;
  report.source = source;
  if (cli.json) {
    print_json(report);
  } else {
    print_text(report);
  }
  if (errors.total() >= cli.max_errors)
    fmt::print(stderr, "milterload: stopped early after {} errors\n", errors.total());
  bool milter_unread = report.milter && !report.milter->cpu_seconds;
  if (milter_unread)
    fmt::print(stderr, "milterload: FAILED: could not read /proc/{}/stat\n", report.milter->pid);
  if (errors.total() > 0)
    fmt::print(stderr, "milterload: FAILED: {} protocol error(s), {} connection error(s)\n",
               errors.protocol_errors(), errors.connection_errors());
  return errors.total() > 0 || milter_unread ? 1 : 0;
}
