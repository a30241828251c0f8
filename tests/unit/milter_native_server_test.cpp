// milter/native/server: libmilter socket specs parse as libmilter reads them; a NativeServer on
// a real unix socket answers a whole MTA conversation (replies, EOM in one piece), serves
// concurrent connections with two loops, and stop() ends run() promptly, closing open sessions.
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "milter/native/server.hpp"

namespace agentgate::milter::native {
namespace {

using namespace std::string_literals;

TEST_CASE("socket specs parse as libmilter reads them") {
  struct Row {
    const char* spec;
    ListenSpec::Kind kind;
    const char* path;
    const char* port;
    const char* host;
  };
  using K = ListenSpec::Kind;
  const Row rows[] = {
      {"unix:/run/a.sock", K::unix_path, "/run/a.sock", "", ""},
      {"local:/run/a.sock", K::unix_path, "/run/a.sock", "", ""},
      {"/run/a.sock", K::unix_path, "/run/a.sock", "", ""},
      {"inet:8891", K::inet, "", "8891", ""},
      {"inet:8891@127.0.0.1", K::inet, "", "8891", "127.0.0.1"},
      {"inet:8891@localhost", K::inet, "", "8891", "localhost"},
      {"inet6:8891@[::1]", K::inet6, "", "8891", "::1"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.spec) {
      auto s = parse_listen_spec(row.spec);
      CHECK(s.kind == row.kind);
      CHECK(s.path == row.path);
      CHECK(s.port == row.port);
      CHECK(s.host == row.host);
    }
  }
  for (const char* bad : {"tcp:25", "inet:", "inet:port@host", "inet:70000", "unix:", "a.sock"})
    SUBCASE(bad) {
      CHECK_THROWS_AS(parse_listen_spec(bad), std::runtime_error);
    }
}

std::atomic<int> closes{0};

const FilterSteps kSteps = {
    [](MtaContext&, unsigned long, unsigned long, unsigned long* actions,
       unsigned long* steps) noexcept {
      *actions = SMFIF_ADDHDRS;
      *steps = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR;
    },
    [](MtaContext&, const sockaddr*) noexcept { return Step::cont; },
    [](MtaContext&, const char*) noexcept { return Step::cont; },
    [](MtaContext& m, const char* rcpt) noexcept {
      if (std::string(rcpt) != "<bad@x>") return Step::cont;
      m.set_reply("550", "5.7.1", "no");
      return Step::reject;
    },
    [](MtaContext&, const char*, const char*) noexcept { return Step::cont; },
    [](MtaContext&, const unsigned char*, std::size_t) noexcept { return Step::cont; },
    [](MtaContext& m) noexcept {
      m.insert_header(0, "X-A", "1");
      return Step::cont;
    },
    [](MtaContext&) noexcept {},
    [](MtaContext&) noexcept { ++closes; },
};

std::string server_packet(char command, std::string_view data = {}) {
  std::string out;
  append_packet(out, command, data);
  return out;
}

int dial(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  return fd;
}

// Sends `request`, reads until `expected.size()` bytes came back (or EOF).
std::string exchange(int fd, const std::string& request, size_t expected) {
  REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[4096];
  while (got.size() < expected) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

TEST_CASE("a two-loop NativeServer answers concurrent MTA connections and stop() closes them") {
  char dir_template[] = "/tmp/agentgate-native-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string path = std::string(dir_template) + "/milter.sock";
  int listen_fd = open_native_listener("unix:" + path);
  closes = 0;
  {
    NativeServer server(listen_fd, 2, kSteps);
    std::thread runner([&] { server.run(); });

    std::string optneg_reply;
    append_optneg(optneg_reply, {6, SMFIF_ADDHDRS, SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR},
                  {});
    const std::string optneg = server_packet('O', "\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"s);
    const std::string conversation = optneg +
                                     server_packet('C',
                                                   "h\0"
                                                   "4\0\x19"
                                                   "10.0.0.1\0"s) +
                                     server_packet('M', "<a@b>\0"s);
    std::string y;
    append_replycode(y, "550 5.7.1 no");
    std::string eom;
    append_insheader(eom, 0, "X-A", "1");
    eom += server_packet('c');

    int first = dial(path);
    int second = dial(path);
    for (int fd : {first, second}) {
      CHECK(exchange(fd, conversation, optneg_reply.size()) == optneg_reply);
      CHECK(exchange(fd, server_packet('R', "<bad@x>\0"s), y.size()) == y);
      CHECK(exchange(fd, server_packet('R', "<ok@x>\0"s), 5) == server_packet('c'));
      CHECK(exchange(fd, server_packet('L', "S\0v\0"s) + server_packet('E'), eom.size()) == eom);
    }
    CHECK(exchange(first, server_packet('Q'), 1).empty());  // QUIT: the server closes
    close(first);
    server.stop();
    runner.join();
    CHECK(closes == 2);  // the QUIT one, and the one still open at stop()
    close(second);
  }
  close(listen_fd);
  std::filesystem::remove_all(dir_template);
}

// A listening server on a fresh unix socket, run on its own thread for the test's lifetime.
struct RunningServer {
  explicit RunningServer(std::chrono::milliseconds idle, unsigned loops = 1) {
    REQUIRE(mkdtemp(dir) != nullptr);
    path = std::string(dir) + "/milter.sock";
    listen_fd = open_native_listener("unix:" + path);
    server = std::make_unique<NativeServer>(listen_fd, loops, kSteps, idle);
    runner = std::thread([this] { server->run(); });
  }
  ~RunningServer() {
    server->stop();
    runner.join();
    server.reset();
    close(listen_fd);
    std::filesystem::remove_all(dir);
  }
  char dir[32] = "/tmp/agentgate-native-XXXXXX";
  std::string path;
  int listen_fd = -1;
  std::unique_ptr<NativeServer> server;
  std::thread runner;
};

// True when fd reports EOF (the server closed it) within `wait`.
bool closed_within(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return false;
  char c;
  return read(fd, &c, 1) == 0;
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

TEST_CASE("a connection the MTA leaves silent past the idle timeout is closed, its session ended") {
  closes = 0;
  RunningServer s(std::chrono::milliseconds(200));
  int fd = dial(s.path);
  std::string optneg_reply;
  append_optneg(optneg_reply, {6, SMFIF_ADDHDRS, SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR}, {});
  CHECK(exchange(fd, server_packet('O', "\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"s),
                 optneg_reply.size()) == optneg_reply);
  CHECK(closed_within(fd, std::chrono::seconds(10)));
  close(fd);
  CHECK(closes == 1);
}

TEST_CASE("out of descriptors, the loop pauses accepting instead of spinning, then accepts") {
  closes = 0;
  RunningServer s(NativeServer::kIdleTimeout);
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  // Leave exactly one free descriptor: the client's socket takes it, so accept4 gets EMFILE.
  int highest = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    highest = std::max(highest, std::stoi(e.path().filename().string()));
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(highest) + 8;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &tight) == 0);
  std::vector<int> fillers;
  for (int f; (f = dup(0)) >= 0;) fillers.push_back(f);
  REQUIRE(!fillers.empty());
  close(fillers.back());
  fillers.pop_back();
  int fd = dial(s.path);
  double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  double busy = process_cpu_seconds() - before;
  for (int f : fillers) close(f);
  REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
  CHECK(busy < 0.05);  // a spinning loop burns most of the 500 ms
  // With descriptors back, the waiting connection is served.
  std::string optneg_reply;
  append_optneg(optneg_reply, {6, SMFIF_ADDHDRS, SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR}, {});
  CHECK(exchange(fd, server_packet('O', "\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"s),
                 optneg_reply.size()) == optneg_reply);
  close(fd);
}

}  // namespace
}  // namespace agentgate::milter::native
