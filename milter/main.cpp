// agentgated: the milter daemon. Startup order matters and is fixed here: config, listening
// socket (as root), optional daemonize, event log, control plane sockets, registry, privilege
// drop, then the threads (control plane, libmilter) and sd_notify READY=1.
// Signals are handled by the main thread itself (SIGHUP reloads, SIGTERM/SIGINT stop): libmilter
// runs in a second thread, so its own signal thread, which would stop on SIGHUP, never sees them.
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <sched.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "milter/callbacks.hpp"
#include "milter/control_plane.hpp"
#include "milter/native/server.hpp"
#include "milter/runtime.hpp"
#include "milter/socket.hpp"
#include "registry/store.hpp"

namespace agentgate::milter {
namespace {

int g_signal_pipe[2] = {-1, -1};

// The native engine's event loops: as configured, or one per CPU this process may run on.
unsigned native_threads(int configured) {
  if (configured > 0) return static_cast<unsigned>(configured);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 0)
    return static_cast<unsigned>(CPU_COUNT(&cpus));
  return std::max(1u, std::thread::hardware_concurrency());
}

extern "C" void on_signal(int signo) {
  auto byte = static_cast<unsigned char>(signo);
  [[maybe_unused]] auto n = write(g_signal_pipe[1], &byte, 1);
}

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&set, s);
  return set;
}

// Tells the parent of a daemonizing fork whether startup succeeded.
class ReadyPipe {
 public:
  void daemonize() {
    if (pipe(fds_) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid > 0) {
      close(fds_[1]);
      char buf[512] = {};
      auto n = read(fds_[0], buf, sizeof buf - 1);
      if (n == 1 && buf[0] == 'R') _exit(0);
      std::cerr << "agentgated: " << (n > 0 ? buf : "startup failed") << "\n";
      _exit(3);
    }
    close(fds_[0]);
    setsid();
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    use_syslog(true);
  }
  void report(const std::string& error) {
    if (fds_[1] < 0) return;
    std::string msg = error.empty() ? "R" : error;
    [[maybe_unused]] auto n = write(fds_[1], msg.data(), msg.size());
    close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

void reload(Runtime& rt, const std::string& path, ControlPlane& control) {
  sd_notifyf(
      0, "RELOADING=1\nMONOTONIC_USEC=%llu",
      static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count()));
  try {
    auto fresh = std::make_shared<const common::Config>(common::load_config(path));
    auto old = rt.config.load();
    if (fresh->milter.socket != old->milter.socket || fresh->milter.engine != old->milter.engine ||
        fresh->milter.threads != old->milter.threads || fresh->store.url != old->store.url ||
        fresh->events.path != old->events.path || fresh->mta.host != old->mta.host)
      log_error(
          "reload: milter.socket, milter.engine, milter.threads, store.url, events.path and "
          "mta.host changes need a restart; keeping the running values for those");
    rt.config.store(fresh);
    if (auto error = rt.events.reopen()) log_error("event log not reopened: " + *error);
    control.refresh_now();
    rt.metrics.reload(true);
    log_info(fmt::format("reloaded {}", path));
  } catch (const std::exception& e) {
    rt.metrics.reload(false);
    log_error(fmt::format("reload refused, still running the previous config: {}", e.what()));
  }
  sd_notify(0, "READY=1");
}

int serve(const std::string& config_path, bool foreground) {
  auto config = std::make_shared<const common::Config>(common::load_config(config_path));
  bool use_native = config->milter.engine == "native";
  auto desc = make_filter_description();
  if (!use_native && smfi_register(desc) != MI_SUCCESS)
    throw std::runtime_error("smfi_register failed");
  int listen_fd = open_listener(config->milter);
  ReadyPipe ready;
  if (!foreground) ready.daemonize();
  try {
    Runtime rt(config, common::mta_host(config->mta));
    ControlPlane control(rt, *config, config_path);  // binds its sockets before the drop
    std::string error;
    if (!rt.registry.load(&error))
      log_error(
          "registry store unreadable at start (governed mail tempfails until it is "
          "back): " +
          error);
    hand_over(rt.events.path(), config->milter);  // the dropped user must reopen it later
    drop_privileges(config->milter);
    install_runtime(&rt);

    if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    auto signals = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // threads started now inherit the block
    control.start();
    std::unique_ptr<native::NativeServer> server;
    if (use_native)
      server =
          std::make_unique<native::NativeServer>(listen_fd, native_threads(config->milter.threads));
    std::thread milter_thread([&server] {
      if (server)
        server->run();
      else
        smfi_main();
    });
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaction(s, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);  // only this thread takes them

    auto engine = use_native ? fmt::format("native, {} threads", server->threads())
                             : std::string("libmilter");
    log_info(fmt::format("agentgated {} ready on {} (engine {}, store {}, generation {}, mode {})",
                         AGENTGATE_VERSION, config->milter.socket, engine,
                         registry::redact_store_url(config->store.url),
                         rt.registry.snapshot() ? rt.registry.snapshot()->generation() : 0,
                         config->policy.mode == policy::Mode::enforce ? "enforce" : "monitor"));
    ready.report("");
    sd_notify(0, "READY=1");
    for (;;) {
      unsigned char signo = 0;
      if (read(g_signal_pipe[0], &signo, 1) != 1) {
        if (errno == EINTR) continue;
        break;
      }
      if (signo == SIGHUP) {
        reload(rt, config_path, control);
      } else if (signo == SIGUSR1) {
        if (auto failure = rt.events.reopen()) log_error("event log not reopened: " + *failure);
      } else {
        break;
      }
    }
    sd_notify(0, "STOPPING=1");
    log_info("stopping: finishing open SMTP sessions");
    if (server)
      server->stop();
    else
      smfi_stop();
    milter_thread.join();
    control.stop();
    if (auto path = unix_socket_path(rt.config.load()->milter.socket); !path.empty())
      unlink(path.c_str());
    log_info("stopped");
    return 0;
  } catch (const std::exception& e) {
    ready.report(e.what());
    throw;
  }
}

}  // namespace
}  // namespace agentgate::milter

int main(int argc, char** argv) {
  using namespace agentgate;
  std::string config_path = common::kDefaultConfigPath;
  bool check = false, foreground = false;
  CLI::App app{"agentgated: milter enforcing identity governance on AI-agent mailboxes"};
  app.set_version_flag("--version", std::string("agentgated ") + AGENTGATE_VERSION);
  app.add_option("-c,--config", config_path, "Config file");
  app.add_flag("--check-config", check, "Validate the config and exit (0 valid, 2 invalid)");
  app.add_flag("--foreground,-f", foreground, "Stay in the foreground and log to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (check) {
    try {
      auto c = common::load_config(config_path);
      fmt::print("{}: OK (milter {}, store {}, mode {})\n", config_path, c.milter.socket,
                 registry::redact_store_url(c.store.url),
                 c.policy.mode == policy::Mode::enforce ? "enforce" : "monitor");
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "agentgated: " << e.what() << "\n";
      return 2;
    }
  }
  try {
    return milter::serve(config_path, foreground);
  } catch (const common::ConfigError& e) {
    milter::log_error(e.what());
    return 2;
  } catch (const std::exception& e) {
    milter::log_error(e.what());
    return 3;
  }
}
