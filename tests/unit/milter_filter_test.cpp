// The filter's end of message against a registry that changed after the snapshot was built
// (milter/filter.cpp decide()): the verdict reached on the snapshot is confirmed with the store
// before it counts (in the proof's spend when there is one), and a revocation committed in the
// meantime refuses the message instead. Drives the real filter steps through a fake MTA, on a
// SQLite store in a temporary directory; nothing rebuilds the snapshot during a case (no
// control plane runs), so the snapshot lags exactly when a case writes to the store.
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/config.hpp"
#include "common/timefmt.hpp"
#include "milter/filter.hpp"
#include "milter/runtime.hpp"
#include "milter/session.hpp"
#include "policy_proof_support.hpp"
#include "registry/store.hpp"
#include "test_support.hpp"

namespace agentgate::milter {
namespace {

using namespace agentgate::testing;
using namespace std::chrono_literals;

class FakeMta final : public MtaContext {
 public:
  std::map<std::string, std::string> macros;
  std::string reply;
  std::vector<std::string> inserted;

  ~FakeMta() override { filter_close(*this); }
  Session* session() override { return session_; }
  void set_session(Session* s) override { session_ = s; }
  std::string macro(const char* name) override {
    auto it = macros.find(name);
    return it == macros.end() ? "" : it->second;
  }
  void request_macros(int, const char*) override {}
  void set_reply(const char* rcode, const char* xcode, const std::string& text) override {
    reply = fmt::format("{} {} {}", rcode, xcode, text);
  }
  void quarantine(const std::string&) override {}
  void delete_header(const char*, int) override {}
  void insert_header(int, const char* name, const std::string& value) override {
    inserted.push_back(fmt::format("{}: {}", name, value));
  }

 private:
  Session* session_ = nullptr;
};

// sales-bot (proof_case()), active in the store with its grant, times taken from the clock.
struct FilterFixture {
  TempDir dir;
  std::string url = "sqlite://" + dir.file("registry.db");
  ProofCase proof = proof_case();
  std::unique_ptr<Runtime> runtime;

  explicit FilterFixture(bool require_proof) {
    auto now = common::now_seconds();
    proof.identity.expires_at = now + 24h;
    proof.grant.issued_at = now - 1min;
    proof.grant.expires_at = now + 1h;
    auto iat = unix_seconds(now) - 5;
    proof.claims["iat"] = iat;
    proof.claims["exp"] = iat + 300;
    auto store = registry::open_store(url, true);
    store->migrate();
    store->write([&](registry::StoreTx& tx) {
      tx.put_identity(proof.identity);
      tx.insert_grant(proof.grant);
    });
    auto config =
        common::parse_config(fmt::format(R"(
[store]
url = "{}"
[policy]
agent_domains = ["agents.example.com"]
audience = "{}"
require_proof = {}
[events]
path = "{}"
)",
                                         url, kAudience, require_proof, dir.file("events.jsonl")),
                             "filter-test.toml");
    runtime = std::make_unique<Runtime>(std::make_shared<const common::Config>(config), "mx1");
    std::string error;
    REQUIRE(runtime->registry.load(&error));
    install_runtime(runtime.get());
  }
  ~FilterFixture() { install_runtime(nullptr); }

  void revoke() {  // as agentgatectl would, but the daemon is not told
    auto revoked = proof.identity;
    revoked.status = policy::Status::revoked;
    registry::open_store(url)->write([&](registry::StoreTx& tx) { tx.put_identity(revoked); });
  }
  std::int64_t messages_used() {
    std::int64_t used = -1;
    registry::open_store(url)->read([&](registry::StoreTx& tx) {
      if (auto g = tx.find_grant(kGrantId)) used = g->messages_used;
    });
    return used;
  }

  // One message from sales-bot to alice, with or without its proof; `meanwhile` runs after
  // MAIL (the snapshot is pinned) and before end of message.
  Step send(FakeMta& m, bool with_proof, const std::function<void()>& meanwhile = {}) {
    m.macros = {{"{auth_authen}", "sales"}, {"i", "4Qx1"}};
    filter_connect(m, nullptr);
    filter_mail(m, "<sales@agents.example.com>");
    if (meanwhile) meanwhile();
    REQUIRE(filter_rcpt(m, "<alice@example.com>") == Step::cont);
    for (const auto& [name, value] : proof.facts.headers)
      filter_header(m, name.c_str(), value.c_str());
    std::string token = proof.token();
    if (with_proof) filter_header(m, "Agent-Proof", token.c_str());
    filter_body(m, reinterpret_cast<const unsigned char*>(kBody), std::strlen(kBody));
    return filter_eom(m);
  }
};

TEST_CASE("filter: a current snapshot decides, and the proof is spent") {
  FilterFixture f(true);
  FakeMta m;
  CHECK(f.send(m, true) == Step::cont);
  CHECK(m.reply.empty());
  REQUIRE(m.inserted.size() == 1);
  CHECK(m.inserted[0].find("verdict=accept") != std::string::npos);
  CHECK(m.inserted[0].find("grant=" + kGrantId) != std::string::npos);
  CHECK(f.messages_used() == 1);
}

TEST_CASE("filter: a revocation the snapshot has not seen refuses the next message") {
  SUBCASE("with a proof: nothing is spent on the refused message") {
    FilterFixture f(true);
    FakeMta m;
    CHECK(f.send(m, true, [&] { f.revoke(); }) == Step::reject);
    CHECK(m.reply.find("identity_revoked") != std::string::npos);
    CHECK(f.messages_used() == 0);
  }
  SUBCASE("without a proof (not required): the generation is confirmed all the same") {
    FilterFixture f(false);
    FakeMta m;
    CHECK(f.send(m, false, [&] { f.revoke(); }) == Step::reject);
    CHECK(m.reply.find("identity_revoked") != std::string::npos);
  }
}

}  // namespace
}  // namespace agentgate::milter
