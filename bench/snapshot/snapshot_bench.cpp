// Snapshot scale benchmark: builds snapshots of 10^2 .. 10^6 identities in memory and reports
// build time (indexing the loaded identities), resident memory of the whole snapshot (records
// plus indexes), and lookup cost per probe, so "lookups as fast with 10^6 as
// with 100" is a measured statement. Usage: snapshot_bench [max_identities]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>

#include "registry/snapshot.hpp"

namespace {

using namespace agentgate;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

registry::RegistryData make_registry(size_t n) {
  registry::RegistryData data;
  data.generation = 1;
  data.identities.reserve(n);
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  for (size_t i = 0; i < n; ++i) {
    policy::Identity id;
    id.id = fmt::format("agent-{:07}", i);
    id.inbox = fmt::format("agent-{:07}@agents.example.com", i);
    id.purpose = "benchmark identity";
    id.business_owner = "bob";
    id.system_owner = "carol";
    id.requester = "dave";
    id.ig_reviewer = "alice";
    id.actions = policy::CapabilitySet::of({policy::Capability::receive, policy::Capability::send});
    id.principals = {fmt::format("sasl:agent-{:07}", i)};
    id.targets[policy::Capability::send] = {"@example.com"};
    id.accept_from = {"@example.com"};
    id.expires_at = policy::Time(now + std::chrono::days(30));
    id.status = policy::Status::active;
    data.identities.push_back(std::move(id));
  }
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  size_t max = argc > 1 ? std::stoul(argv[1]) : 1000000;
  fmt::print("{:>10} {:>12} {:>14} {:>16}\n", "identities", "build ms", "RSS MiB",
             "lookup ns/probe");
  for (size_t n = 100; n <= max; n *= 10) {
    long before = rss_kib();
    auto data = make_registry(n);
    auto t0 = std::chrono::steady_clock::now();
    auto snap = registry::Snapshot::build(std::move(data), policy::Time{});
    auto t1 = std::chrono::steady_clock::now();
    long after = rss_kib();
    std::mt19937 rng(42);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    std::vector<std::string> probes;
    for (int i = 0; i < 100000; ++i)
      probes.push_back(fmt::format("agent-{:07}@agents.example.com", pick(rng)));
    size_t found = 0;
    auto t2 = std::chrono::steady_clock::now();
    for (const auto& p : probes) found += snap->by_inbox(p) != nullptr;
    auto t3 = std::chrono::steady_clock::now();
    if (found != probes.size()) return 1;
    fmt::print("{:>10} {:>12.1f} {:>14.1f} {:>16.1f}\n", n,
               std::chrono::duration<double, std::milli>(t1 - t0).count(),
               static_cast<double>(after - before) / 1024.0,
               std::chrono::duration<double, std::nano>(t3 - t2).count() /
                   static_cast<double>(probes.size()));
  }
  return 0;
}
