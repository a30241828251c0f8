// TOML loading with strict validation. Each section is read through a Section, which records the
// keys it consumed so that anything left over is reported as unknown instead of being ignored.
#include "common/config.hpp"

#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "common/timefmt.hpp"

namespace agentgate::common {
namespace {

std::string where(const std::string& file, const toml::source_region& r) {
  return fmt::format("{}:{}:{}", file, r.begin.line, r.begin.column);
}

class Section {
 public:
  Section(const toml::table* table, std::string name, const std::string& file)
      : table_(table), name_(std::move(name)), file_(file) {}

  void str(std::string_view key, std::string& out) {
    if (auto* n = take(key)) {
      auto v = n->value<std::string>();
      if (!v) fail(*n, key, "must be a string");
      out = *v;
    }
  }
  void boolean(std::string_view key, bool& out) {
    if (auto* n = take(key)) {
      auto v = n->value<bool>();
      if (!v) fail(*n, key, "must be true or false");
      out = *v;
    }
  }
  void strings(std::string_view key, std::vector<std::string>& out) {
    auto* n = take(key);
    if (!n) return;
    auto* arr = n->as_array();
    if (!arr) fail(*n, key, "must be an array of strings");
    out.clear();
    for (const auto& e : *arr) {
      auto v = e.value<std::string>();
      if (!v) fail(e, key, "must be an array of strings");
      out.push_back(*v);
    }
  }
  void duration(std::string_view key, std::chrono::seconds& out) {
    std::string text;
    auto* n = peek(key);
    str(key, text);
    if (!n) return;
    auto d = parse_duration(text);
    if (!d) fail(*n, key, "must be a duration such as \"300s\", \"15m\", \"1h\" or \"30d\"");
    out = *d;
  }
  void interval(std::string_view key, std::chrono::milliseconds& out) {
    std::string text;
    auto* n = peek(key);
    str(key, text);
    if (!n) return;
    auto d = parse_interval(text);
    if (!d) fail(*n, key, "must be a duration such as \"250ms\", \"1s\" or \"1m\"");
    out = *d;
  }
  // A whole number in [min, max].
  void number(std::string_view key, int& out, int min, int max) {
    if (auto* n = take(key)) {
      auto v = n->value_exact<std::int64_t>();
      if (!v || *v < min || *v > max)
        fail(*n, key, fmt::format("must be a whole number from {} to {}", min, max));
      out = static_cast<int>(*v);
    }
  }
  // A string that must be one of `allowed`.
  void choice(std::string_view key, std::string& out,
              std::initializer_list<std::string_view> allowed) {
    str(key, out);
    for (auto a : allowed)
      if (out == a) return;
    std::string list;
    for (auto a : allowed) list += fmt::format("{}\"{}\"", list.empty() ? "" : " or ", a);
    bad_value(key, fmt::format("must be {}, not '{}'", list, out));
  }
  // A value that parsed but is not acceptable: names file, line and key when the key is present.
  [[noreturn]] void bad_value(std::string_view key, std::string_view why) const {
    if (auto* n = peek(key)) fail(*n, key, why);
    throw ConfigError(fmt::format("{}: key '{}' {}", file_, qualified(key), why));
  }
  template <typename F>
  void each_other_key(F&& f) {
    if (!table_) return;
    for (const auto& [k, v] : *table_) {
      if (used_.count(std::string(k.str()))) continue;
      used_.insert(std::string(k.str()));
      f(std::string(k.str()), v);
    }
  }
  const toml::table* subtable(std::string_view key) {
    auto* n = take(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(*n, key, "must be a table");
    return n->as_table();
  }
  [[noreturn]] void fail(const toml::node& n, std::string_view key, std::string_view why) const {
    throw ConfigError(
        fmt::format("{}: key '{}' {}", where(file_, n.source()), qualified(key), why));
  }
  void finish() const {
    if (!table_) return;
    for (const auto& [k, v] : *table_) {
      if (!used_.count(std::string(k.str())))
        throw ConfigError(
            fmt::format("{}: unknown key '{}'", where(file_, v.source()), qualified(k.str())));
    }
  }

 private:
  std::string qualified(std::string_view key) const {
    return name_.empty() ? std::string(key) : fmt::format("{}.{}", name_, key);
  }
  const toml::node* peek(std::string_view key) const { return table_ ? table_->get(key) : nullptr; }
  const toml::node* take(std::string_view key) {
    used_.insert(std::string(key));
    return peek(key);
  }
  const toml::table* table_;
  std::string name_;
  const std::string& file_;
  std::set<std::string> used_;
};

void read_milter(Section s, MilterSettings& m) {
  s.str("socket", m.socket);
  s.str("user", m.user);
  s.str("group", m.group);
  s.choice("engine", m.engine, {"libmilter", "native"});
  s.number("threads", m.threads, 0, 256);
  std::string mode = fmt::format("{:04o}", m.socket_mode);
  s.str("socket_mode", mode);
  try {
    size_t used = 0;
    m.socket_mode = std::stoi(mode, &used, 8);
    if (used != mode.size() || m.socket_mode < 0 || m.socket_mode > 0777) throw std::exception();
  } catch (const std::exception&) {
    s.bad_value("socket_mode", "must be an octal mode such as \"0660\"");
  }
  if (!(m.socket.starts_with("unix:") || m.socket.starts_with("local:") ||
        m.socket.starts_with("inet:") || m.socket.starts_with("inet6:") ||
        m.socket.starts_with("/")))
    s.bad_value("socket", fmt::format("must be unix:/path or inet:PORT@HOST, not '{}'", m.socket));
  s.finish();
}

void read_policy(Section s, policy::PolicySettings& p, const std::string& file) {
  std::string mode = p.mode == Mode::enforce ? "enforce" : "monitor";
  s.choice("mode", mode, {"enforce", "monitor"});
  p.mode = mode == "enforce" ? Mode::enforce : Mode::monitor;
  s.strings("agent_domains", p.agent_domains);
  for (auto& d : p.agent_domains) d = policy::normalize_address(d);
  s.strings("agent_inboxes", p.agent_inboxes);
  s.str("audience", p.audience);
  s.boolean("require_proof", p.require_proof);
  s.duration("clock_skew", p.clock_skew);
  s.str("gateway", p.gateway);
  s.boolean("local_part_case_sensitive", p.address_rules.local_part_case_sensitive);
  for (auto& a : p.agent_inboxes) a = policy::normalize_address(a, p.address_rules);
  if (auto* actions = s.subtable("actions")) {
    Section as(actions, "policy.actions", file);
    as.each_other_key([&](const std::string& key, const toml::node& n) {
      auto reason = policy::parse_reason(key);
      if (!reason) as.fail(n, key, "is not a reason code");
      auto v = n.value<std::string>();
      auto action = v ? policy::parse_action(*v) : std::nullopt;
      if (!action)
        as.fail(n, key, "must be \"accept\", \"reject\", \"tempfail\" or \"quarantine\"");
      p.actions[*reason] = *action;
    });
  }
  s.finish();
}

void read_governance(Section s, policy::GovernanceRules& g, policy::GrantRules& grants) {
  s.duration("max_grant_ttl", grants.max_ttl);
  if (grants.max_ttl.count() <= 0) s.bad_value("max_grant_ttl", "must be positive");
  s.strings("ig_reviewers", g.ig_reviewers);
  s.strings("security_officers", g.security_officers);
  s.str("id_pattern", g.id_pattern);
  try {
    std::regex check(g.id_pattern);
  } catch (const std::regex_error& e) {
    s.bad_value("id_pattern", fmt::format("is not a valid regular expression: {}", e.what()));
  }
  s.duration("max_identity_lifetime", g.max_identity_lifetime);
  s.finish();
}

std::string default_gateway() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0) return "agentgate";
  return host;
}

}  // namespace

Config parse_config(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: {}", where(source, e.source()), e.description()));
  }
  Config c;
  c.source = source;
  Section top(&root, "", source);
  read_milter(Section(top.subtable("milter"), "milter", source), c.milter);
  {
    Section s(top.subtable("control"), "control", source);
    s.str("socket", c.control.socket);
    s.str("metrics", c.control.metrics);
    s.str("group", c.control.group);
    s.finish();
  }
  {
    Section s(top.subtable("store"), "store", source);
    s.str("url", c.store.url);
    s.duration("max_staleness", c.store.max_staleness);
    s.interval("poll_interval", c.store.poll_interval);
    if (!c.store.url.starts_with("sqlite://") && !c.store.url.starts_with("postgresql://") &&
        !c.store.url.starts_with("postgres://"))
      s.bad_value("url", "must start with sqlite:// or postgresql://");
    // The poll is the store's heartbeat, and the next one starts only when the last one (maybe
    // a rebuild) ended: slower than half the staleness bound, a healthy store could look stale.
    if (c.store.poll_interval * 2 > c.store.max_staleness)
      s.bad_value("poll_interval",
                  "must be at most half of max_staleness (the poll is the heartbeat)");
    s.finish();
  }
  read_policy(Section(top.subtable("policy"), "policy", source), c.policy, source);
  read_governance(Section(top.subtable("governance"), "governance", source), c.governance,
                  c.grants);
  {
    Section s(top.subtable("events"), "events", source);
    s.str("path", c.events.path);
    std::string on_error = c.events.tempfail_on_write_error ? "tempfail" : "accept";
    s.choice("on_write_error", on_error, {"tempfail", "accept"});
    c.events.tempfail_on_write_error = on_error == "tempfail";
    s.finish();
  }
  {
    Section s(top.subtable("mta"), "mta", source);
    s.choice("kind", c.mta.kind, {"postfix", "sendmail"});
    s.str("config_dir", c.mta.config_dir);
    s.str("sendmail", c.mta.sendmail);
    s.str("queue_dir", c.mta.queue_dir);
    s.str("host", c.mta.host);
    s.finish();
  }
  top.finish();
  if (c.policy.gateway.empty()) c.policy.gateway = default_gateway();
  if (c.policy.audience.empty()) c.policy.audience = c.policy.gateway;
  c.governance.agent_domains = c.policy.agent_domains;
  c.governance.agent_inboxes = c.policy.agent_inboxes;
  c.governance.address_rules = c.policy.address_rules;
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot read config file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

std::string mta_host(const MtaSettings& mta) {
  if (!mta.host.empty()) return mta.host;
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf[0] ? buf : "localhost";
}

}  // namespace agentgate::common
