// LISTEN on the registry channel; see pg_listener.hpp.
#include "registry/pg_listener.hpp"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "registry/pg_store.hpp"

namespace agentgate::registry {

PgListener::PgListener(const std::string& url) : conn_(url) {
  // An idle connection's FATAL (administrator shutdown, pg_terminate_backend) reaches libpq as
  // a notice before the socket closes: remember it, so drain() reports the break at once.
  PQsetNoticeReceiver(conn_.handle(), &PgListener::on_notice, this);
  conn_.exec(fmt::format("LISTEN {}", kPgChannel));
}

int PgListener::socket() const {
  return PQsocket(conn_.handle());
}

std::optional<std::uint64_t> PgListener::drain() {
  if (!fatal_.empty()) broken(fatal_);
  if (PQconsumeInput(conn_.handle()) == 0) broken(pg::one_line(PQerrorMessage(conn_.handle())));
  collect();
  if (!fatal_.empty()) broken(fatal_);
  if (PQstatus(conn_.handle()) == CONNECTION_BAD)
    broken(pg::one_line(PQerrorMessage(conn_.handle())));
  auto out = pending_;
  pending_.reset();
  return out;
}

void PgListener::ping(std::chrono::milliseconds timeout) {
  PGconn* h = conn_.handle();
  if (!fatal_.empty()) broken(fatal_);
  if (PQsendQuery(h, "SELECT 1") == 0) broken(pg::one_line(PQerrorMessage(h)));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (PQisBusy(h)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fd{PQsocket(h), POLLIN, 0};
    int ready = left.count() > 0 ? ::poll(&fd, 1, static_cast<int>(left.count())) : 0;
    if (ready == 0) broken(fmt::format("no answer to a ping within {} ms", timeout.count()));
    if (ready < 0 && errno != EINTR) broken(std::strerror(errno));
    if (PQconsumeInput(h) == 0) broken(pg::one_line(PQerrorMessage(h)));
  }
  std::string error;
  while (PGresult* res = PQgetResult(h)) {
    if (PQresultStatus(res) != PGRES_TUPLES_OK && error.empty())
      error = pg::one_line(PQresultErrorMessage(res));
    PQclear(res);
  }
  collect();
  if (!error.empty()) broken(error);
  if (!fatal_.empty()) broken(fatal_);
}

void PgListener::collect() {
  while (PGnotify* n = PQnotifies(conn_.handle())) {
    std::string_view payload = n->extra ? n->extra : "";
    std::uint64_t generation = 0;
    auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), generation);
    // Only registry writes notify this channel; anything else on it is not a generation.
    if (ec == std::errc() && end == payload.data() + payload.size() &&
        std::string_view(n->relname) == kPgChannel && (!pending_ || generation > *pending_))
      pending_ = generation;
    PQfreemem(n);
  }
}

void PgListener::broken(const std::string& why) {
  throw StoreError(fmt::format("store {}: change feed: connection lost: {}", conn_.where(), why));
}

void PgListener::on_notice(void* self, const PGresult* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (!severity) return;
  std::string_view s(severity);
  if (s == "FATAL" || s == "PANIC")
    static_cast<PgListener*>(self)->fatal_ = pg::one_line(PQresultErrorMessage(notice));
}

}  // namespace agentgate::registry
