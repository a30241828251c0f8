// agentgated: the milter daemon. Startup order matters and is fixed here: config, listening
// socket (as root), optional daemonize, event log, registry, privilege drop, then the threads.
// Signals are handled by the main thread itself (SIGHUP reloads, SIGTERM/SIGINT stop): libmilter
// runs in a second thread, so its own signal thread, which would stop on SIGHUP, never sees them.
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "milter/callbacks.hpp"
#include "milter/runtime.hpp"
#include "milter/socket.hpp"

namespace agentgate::milter {
namespace {

int g_signal_pipe[2] = {-1, -1};

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

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf[0] ? buf : "localhost";
}

// Polls the store until stopped; wakes early on a reload request.
class Watcher {
 public:
  Watcher(RegistryCache& cache, std::chrono::milliseconds interval)
      : cache_(cache), interval_(interval), thread_([this] { run(); }) {}
  ~Watcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void kick() { cv_.notify_all(); }

 private:
  void run() {
    std::string last_error;
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      std::string error;
      cache_.poll(&error);
      if (error != last_error)
        error.empty() ? log_info("registry store reachable again")
                      : log_error("registry store unreadable: " + error);
      last_error = error;
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  }
  RegistryCache& cache_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

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

void reload(Runtime& rt, const std::string& path, Watcher& watcher) {
  try {
    auto fresh = std::make_shared<const common::Config>(common::load_config(path));
    auto old = rt.config.load();
    if (fresh->milter.socket != old->milter.socket || fresh->store.url != old->store.url ||
        fresh->events.path != old->events.path)
      log_error(
          "reload: milter.socket, store.url and events.path changes need a restart; "
          "keeping the running values for those");
    rt.config.store(fresh);
    if (auto error = rt.events.reopen()) log_error("event log not reopened: " + *error);
    watcher.kick();
    log_info(fmt::format("reloaded {}", path));
  } catch (const std::exception& e) {
    log_error(fmt::format("reload refused, still running the previous config: {}", e.what()));
  }
}

int serve(const std::string& config_path, bool foreground) {
  auto config = std::make_shared<const common::Config>(common::load_config(config_path));
  auto desc = make_filter_description();
  if (smfi_register(desc) != MI_SUCCESS) throw std::runtime_error("smfi_register failed");
  open_listener(config->milter);
  ReadyPipe ready;
  if (!foreground) ready.daemonize();
  try {
    Runtime rt(config, host_name());
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
    Watcher watcher(rt.registry, config->store.poll_interval);
    std::thread milter_thread([] { smfi_main(); });
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaction(s, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);  // only this thread takes them

    log_info(fmt::format("agentgated {} ready on {} (store {}, generation {}, mode {})",
                         AGENTGATE_VERSION, config->milter.socket, config->store.url,
                         rt.registry.snapshot() ? rt.registry.snapshot()->generation() : 0,
                         config->policy.mode == policy::Mode::enforce ? "enforce" : "monitor"));
    ready.report("");
    for (;;) {
      unsigned char signo = 0;
      if (read(g_signal_pipe[0], &signo, 1) != 1) {
        if (errno == EINTR) continue;
        break;
      }
      if (signo == SIGHUP) {
        reload(rt, config_path, watcher);
      } else if (signo == SIGUSR1) {
        if (auto failure = rt.events.reopen()) log_error("event log not reopened: " + *failure);
      } else {
        break;
      }
    }
    log_info("stopping: finishing open SMTP sessions");
    smfi_stop();
    milter_thread.join();
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
                 c.store.url, c.policy.mode == policy::Mode::enforce ? "enforce" : "monitor");
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
