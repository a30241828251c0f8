// Worker threads, the measured window and its CPU readings (see load_run.hpp).
#include "load_run.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "event_loop.hpp"
#include "proc_usage.hpp"

namespace agentgate::bench {
namespace {

uint64_t nanoseconds_since(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

// Hands out messages. A message claimed during warm-up is sent but not counted; in the
// measured window each claim counts against `count` (when one is set).
class Scheduler {
 public:
  struct Ticket {
    size_t message;
    bool measured;
  };

  Scheduler(size_t messages, uint64_t count, uint64_t max_errors, const ErrorLog& errors)
      : messages_(messages), count_(count), max_errors_(max_errors), errors_(errors) {}

  std::optional<Ticket> claim() {
    auto phase = phase_.load(std::memory_order_acquire);
    if (phase == Phase::stopped || errors_.total() >= max_errors_) return std::nullopt;
    bool measured = phase == Phase::measuring;
    if (measured && count_ != 0 && measured_claims_.fetch_add(1) >= count_) return std::nullopt;
    return Ticket{cursor_.fetch_add(1) % messages_, measured};
  }

  void start_measuring() { phase_.store(Phase::measuring, std::memory_order_release); }
  void stop() { phase_.store(Phase::stopped, std::memory_order_release); }
  bool too_many_errors() const { return errors_.total() >= max_errors_; }

 private:
  enum class Phase { warming_up, measuring, stopped };

  size_t messages_;
  uint64_t count_;
  uint64_t max_errors_;
  const ErrorLog& errors_;
  std::atomic<Phase> phase_{Phase::warming_up};
  std::atomic<uint64_t> cursor_{0};
  std::atomic<uint64_t> measured_claims_{0};
};

// Identity handed to connections and messages: client ports, queue ids, and the first
// connection's negotiation for the report.
class Identities {
 public:
  Identities() : queue_id_base_((static_cast<uint64_t>(std::time(nullptr)) & 0xFFFFFF) << 24) {}

  uint16_t next_port() { return static_cast<uint16_t>(1024 + ports_.fetch_add(1) % 60000); }

  // A unique queue id, 12 upper-case hex digits like a Postfix short id.
  std::string_view next_queue_id(std::array<char, 16>& buffer) {
    auto end = fmt::format_to_n(buffer.data(), buffer.size(), "{:012X}",
                                queue_id_base_ + queue_ids_.fetch_add(1));
    return {buffer.data(), end.size};
  }

  void note_negotiation(const Negotiation& n) {
    std::call_once(negotiation_once_, [&] { negotiation_ = n; });
  }
  std::optional<Negotiation> negotiation() const { return negotiation_; }  // after join

 private:
  uint64_t queue_id_base_;
  std::atomic<uint64_t> queue_ids_{0};
  std::atomic<uint32_t> ports_{0};
  std::once_flag negotiation_once_;
  std::optional<Negotiation> negotiation_;
};

Task<void> run_slot(EventLoop& loop, const RunOptions& options,
                    const std::vector<PreparedMessage>& messages, Scheduler& scheduler,
                    Identities& ids, ErrorLog& errors, Tally& tally) {
  Session session(options.session, errors, loop);
  std::array<char, 16> queue_id_buffer{};
  while (auto ticket = scheduler.claim()) {
    MessageOutcome outcome;
    auto start = Clock::now();
    if (!session.is_open()) {
      auto opened = co_await session.open(ids.next_port(), outcome);
      if (opened == Session::Result::error) continue;  // counted in `errors`
      ids.note_negotiation(session.negotiation());
      if (opened == Session::Result::ended) {  // refused (or accepted) at CONNECT/HELO
        if (ticket->measured) tally.record(outcome, nanoseconds_since(start));
        continue;
      }
    }
    auto queue_id = ids.next_queue_id(queue_id_buffer);
    start = Clock::now();
    auto sent = co_await session.send_message(messages[ticket->message], queue_id, outcome);
    if (sent == Session::Result::ok && ticket->measured)
      tally.record(outcome, nanoseconds_since(start));
    if (session.is_open() && session.messages_sent() >= options.messages_per_connection)
      co_await session.quit();
  }
  co_await session.quit();
}

// One event-loop thread driving the connection slots first, first + threads, ...
void run_thread(unsigned first, const RunOptions& options,
                const std::vector<PreparedMessage>& messages, Scheduler& scheduler, Identities& ids,
                ErrorLog& errors, std::vector<Tally>& tallies) {
  EventLoop loop;
  std::vector<Task<void>> slots;
  for (unsigned i = first; i < options.connections; i += options.threads)
    slots.push_back(run_slot(loop, options, messages, scheduler, ids, errors, tallies[i]));
  loop.run(std::move(slots));
}

// Sleeps until `deadline`, waking early when `stop_early` says so.
void sleep_until(Clock::time_point deadline, const std::function<bool()>& stop_early) {
  while (Clock::now() < deadline && !stop_early())
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(20), deadline - Clock::now()));
}

struct WindowEdge {
  Clock::time_point time;
  SelfCpu self;
  std::optional<double> milter_cpu;
};

WindowEdge window_edge(const RunOptions& options) {
  WindowEdge edge{Clock::now(), self_cpu(), std::nullopt};
  if (options.milter_pid) edge.milter_cpu = process_cpu_seconds(*options.milter_pid);
  return edge;
}

}  // namespace

RunReport run_load(const RunOptions& options, const std::vector<PreparedMessage>& messages,
                   ErrorLog& errors) {
  Scheduler scheduler(messages.size(), options.count, options.max_errors, errors);
  Identities ids;
  std::vector<Tally> tallies(options.connections);
  WindowEdge start{};
  if (options.warmup <= 0) {
    start = window_edge(options);
    scheduler.start_measuring();
  }
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < std::min(options.threads, options.connections); ++i)
    workers.emplace_back(run_thread, i, std::cref(options), std::cref(messages),
                         std::ref(scheduler), std::ref(ids), std::ref(errors), std::ref(tallies));
  auto stop_early = [&] { return scheduler.too_many_errors(); };
  if (options.warmup > 0) {
    sleep_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(options.warmup)),
                stop_early);
    start = window_edge(options);
    scheduler.start_measuring();
  }
  if (options.count == 0) {
    sleep_until(start.time + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(options.duration)),
                stop_early);
    scheduler.stop();
  }
  for (auto& w : workers) w.join();
  WindowEdge end = window_edge(options);

  RunReport report;
  report.connections = options.connections;
  report.messages_per_connection = options.messages_per_connection;
  report.seconds = std::chrono::duration<double>(end.time - start.time).count();
  for (const auto& t : tallies) report.tally.merge(t);
  report.negotiation = ids.negotiation();
  report.generator_user_seconds = end.self.user_seconds - start.self.user_seconds;
  report.generator_system_seconds = end.self.system_seconds - start.self.system_seconds;
  if (options.milter_pid) {
    MilterUsage usage;
    usage.pid = *options.milter_pid;
    if (start.milter_cpu && end.milter_cpu) usage.cpu_seconds = *end.milter_cpu - *start.milter_cpu;
    if (auto memory = process_memory(*options.milter_pid)) {
      usage.peak_rss_kib = memory->peak_rss_kib;
      usage.rss_kib = memory->rss_kib;
    }
    report.milter = usage;
  }
  report.protocol_errors = errors.protocol_errors();
  report.connection_errors = errors.connection_errors();
  return report;
}

}  // namespace agentgate::bench
