// The control plane's io_context: store-watch timer and change feed, control socket and HTTP
// listener.
#include "milter/control_plane.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <thread>

#include <fmt/format.h>

#include "milter/change_watch.hpp"
#include "milter/status.hpp"

namespace agentgate::milter {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::local::stream_protocol;

constexpr std::size_t kMaxRequest = 64 * 1024;     // a request line or HTTP request head
constexpr std::chrono::seconds kClientTimeout{5};  // idle clients are dropped

// Gives the control socket to the daemon's user and the configured group, mode 0660.
void own_control_socket(const std::string& path, const common::Config& cfg) {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!cfg.milter.user.empty())
    if (auto* pw = getpwnam(cfg.milter.user.c_str())) uid = pw->pw_uid, gid = pw->pw_gid;
  const auto& group = cfg.control.group.empty() ? cfg.milter.group : cfg.control.group;
  if (!group.empty()) {
    auto* gr = getgrnam(group.c_str());
    if (!gr) throw std::runtime_error(fmt::format("control group '{}': no such group", group));
    gid = gr->gr_gid;
  }
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      chown(path.c_str(), uid, gid) != 0)
    throw std::runtime_error(fmt::format("chown {}: {}", path, std::strerror(errno)));
  if (chmod(path.c_str(), 0660) != 0)
    throw std::runtime_error(fmt::format("chmod {}: {}", path, std::strerror(errno)));
}

// "127.0.0.1:9487", "[::1]:9487" -> endpoint.
tcp::endpoint parse_listen(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("expected HOST:PORT");
  auto host = spec.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = std::stoi(spec.substr(colon + 1));
  if (port <= 0 || port > 65535) throw std::runtime_error("port out of range");
  return {asio::ip::make_address(host), static_cast<unsigned short>(port)};
}

std::string http_response(int code, std::string_view reason, std::string_view type,
                          std::string_view body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Cache-Control: no-store\r\n\r\n{}",
      code, reason, type, body.size(), body);
}

// One short-lived client connection: read one request, write one reply, close.
template <typename Socket>
struct Exchange : std::enable_shared_from_this<Exchange<Socket>> {
  Exchange(Socket s, std::string delim)
      : socket(std::move(s)),
        timer(socket.get_executor()),
        buffer(kMaxRequest),
        delimiter(std::move(delim)) {}

  template <typename Handler>
  void run(Handler handle) {
    auto self = this->shared_from_this();
    timer.expires_after(kClientTimeout);
    timer.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->socket.close(ec);
    });
    asio::async_read_until(
        socket, buffer, delimiter, [self, handle](boost::system::error_code ec, std::size_t n) {
          std::string request;
          if (!ec) {
            request.assign(
                asio::buffers_begin(self->buffer.data()),
                asio::buffers_begin(self->buffer.data()) + static_cast<std::ptrdiff_t>(n));
          }
          self->reply = handle(ec ? std::optional<std::string>() : request);
          if (self->reply.empty()) return self->finish();
          asio::async_write(self->socket, asio::buffer(self->reply),
                            [self](boost::system::error_code, std::size_t) { self->finish(); });
        });
  }
  void finish() {
    boost::system::error_code ec;
    timer.cancel();
    socket.close(ec);
  }

  Socket socket;
  asio::steady_timer timer;
  asio::streambuf buffer;
  std::string delimiter;
  std::string reply;
};

}  // namespace

struct ControlPlane::Impl {
  Impl(Runtime& r, const common::Config& c, std::string path)
      : rt(r),
        config_path(std::move(path)),
        poll_interval(c.store.poll_interval),
        timer(io),
        watch(io, r.registry, [this] { return poll(); }) {
    open_control(c);
    open_http(c);
  }

  void open_control(const common::Config& c) {
    control_path = c.control.socket;
    if (control_path.empty()) return;
    try {
      std::error_code fs_ec;
      std::filesystem::create_directories(std::filesystem::path(control_path).parent_path(), fs_ec);
      ::unlink(control_path.c_str());  // a stale socket from a killed daemon
      control.emplace(io, stream_protocol::endpoint(control_path));
      own_control_socket(control_path, c);
    } catch (const std::exception& e) {
      log_error(
          fmt::format("control socket {} not available: {}; agentgatectl cannot notify "
                      "or query this daemon (the store watch still applies changes)",
                      control_path, e.what()));
      control.reset();
      control_path.clear();
    }
  }

  void open_http(const common::Config& c) {
    if (c.control.metrics.empty()) return;
    try {
      auto endpoint = parse_listen(c.control.metrics);
      http.emplace(io);
      http->open(endpoint.protocol());
      http->set_option(tcp::acceptor::reuse_address(true));
      http->bind(endpoint);
      http->listen();
    } catch (const std::exception& e) {
      log_error(fmt::format("metrics listener {} not available: {}", c.control.metrics, e.what()));
      http.reset();
    }
  }

  bool poll() {
    std::string error;
    bool current = rt.registry.poll(&error);
    if (error != last_error)
      error.empty() ? log_info("registry store reachable again")
                    : log_error("registry store unreadable: " + error);
    last_error = error;
    return current;
  }

  void schedule_poll() {
    timer.expires_after(poll_interval);
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;  // cancelled: a refresh or stop
      poll();
      watch.ensure();
      schedule_poll();
    });
  }

  void accept_control() {
    control->async_accept([this](boost::system::error_code ec, stream_protocol::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        auto x = std::make_shared<Exchange<stream_protocol::socket>>(std::move(s), "\n");
        x->run([this](const std::optional<std::string>& line) {
          return line ? control_reply(*line) : std::string();
        });
      }
      accept_control();
    });
  }

  std::string control_reply(std::string line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    nlohmann::json out;
    if (line == "status") {
      out = status_json(rt, config_path);
    } else if (line == "refresh") {
      poll();  // on this thread, before replying: when the CLI returns, the snapshot is current
      timer.cancel();
      schedule_poll();
      auto snap = rt.registry.snapshot();
      out = {{"ok", last_error.empty()}, {"generation", snap ? snap->generation() : 0}};
      if (!last_error.empty()) out["error"] = last_error;
    } else if (line.starts_with("event ")) {
      out = admin_event(line.substr(6));
    } else if (line == "ping") {
      out = {{"ok", true}, {"version", AGENTGATE_VERSION}};
    } else {
      out = {{"ok", false}, {"error", "unknown request; expected status, refresh or ping"}};
    }
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }

  // An analyst's action on quarantined mail (agentgatectl quarantine release|delete): written
  // to the event log by the daemon, the log's only writer, so the hash chain stays one chain.
  nlohmann::json admin_event(const std::string& text) {
    auto event = nlohmann::json::parse(text, nullptr, false);
    bool shaped = event.is_object() && event.contains("event") && event["event"].is_object();
    auto action = shaped ? event["event"].value("action", "") : "";
    if (action != "release" && action != "delete")
      return {{"ok", false},
              {"error",
               "an event must be a JSON object with event.action "
               "release or delete"}};
    event["observer"]["hostname"] = rt.hostname;
    bool written = rt.events.append(event);
    if (!written) rt.metrics.event_write_error();
    return {{"ok", written}, {"event_id", event["event"].value("id", "")}};
  }

  void accept_http() {
    http->async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        auto x = std::make_shared<Exchange<tcp::socket>>(std::move(s), "\r\n\r\n");
        x->run([this](const std::optional<std::string>& head) {
          return head ? http_reply(*head)
                      : http_response(400, "Bad Request", "text/plain", "bad request\n");
        });
      }
      accept_http();
    });
  }

  std::string http_reply(const std::string& head) {
    auto line = head.substr(0, head.find("\r\n"));
    auto method_end = line.find(' ');
    auto path_end = line.find(' ', method_end + 1);
    if (method_end == std::string::npos || path_end == std::string::npos)
      return http_response(400, "Bad Request", "text/plain", "bad request\n");
    auto method = line.substr(0, method_end);
    auto path = line.substr(method_end + 1, path_end - method_end - 1);
    if (method != "GET")
      return http_response(405, "Method Not Allowed", "text/plain", "GET only\n");
    if (path == "/metrics")
      return http_response(200, "OK", "text/plain; version=0.0.4", prometheus_text(rt));
    if (path == "/healthz") {
      bool fresh = rt.registry.fresh();
      return http_response(fresh ? 200 : 503, fresh ? "OK" : "Service Unavailable", "text/plain",
                           fresh ? "ok\n" : "registry snapshot stale\n");
    }
    return http_response(404, "Not Found", "text/plain", "not found\n");
  }

  Runtime& rt;
  std::string config_path;
  std::chrono::milliseconds poll_interval;
  asio::io_context io;
  asio::steady_timer timer;
  ChangeWatch watch;
  std::optional<stream_protocol::acceptor> control;
  std::optional<tcp::acceptor> http;
  std::string control_path;
  std::string last_error;
  std::thread thread;
};

ControlPlane::ControlPlane(Runtime& runtime, const common::Config& config, std::string path)
    : impl_(std::make_unique<Impl>(runtime, config, std::move(path))) {}

ControlPlane::~ControlPlane() {
  stop();
}

void ControlPlane::start() {
  impl_->schedule_poll();
  asio::post(impl_->io, [this] { impl_->watch.ensure(); });
  if (impl_->control) impl_->accept_control();
  if (impl_->http) impl_->accept_http();
  impl_->thread = std::thread([this] {
    for (;;) {
      try {
        impl_->io.run();
        return;
      } catch (const std::exception& e) {  // a handler threw: log it and keep serving
        log_error(fmt::format("control plane: {}", e.what()));
      }
    }
  });
}

void ControlPlane::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
  if (!impl_->control_path.empty()) ::unlink(impl_->control_path.c_str());
}

void ControlPlane::refresh_now() {
  asio::post(impl_->io, [this] {
    impl_->poll();
    impl_->timer.cancel();
    impl_->schedule_poll();
  });
}

}  // namespace agentgate::milter
