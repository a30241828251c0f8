// `agentgatectl grant ...`: just-in-time grants (SPEC sections 3 and 7). An issuer asks for a
// grant for one task; the agent's Ed25519 key pair is generated here (--key-out, private half
// written 0600 and never stored) or supplied (--public-key).
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "common/timefmt.hpp"
#include "policy/digest.hpp"
#include "policy/jws.hpp"
#include "registry/identity_json.hpp"

namespace agentgate::cli {
namespace {

std::string new_grant_id() {
  unsigned char bytes[10];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness");
  std::string out = "g-";
  for (auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes the private key beside its final name, mode 0600, so nothing half-written or
// world-readable ever sits at `path`; the caller renames it into place after the commit.
std::string write_private_key_tmp(const std::string& path, const std::string& pem) {
  if (std::filesystem::exists(path))
    throw UsageError(fmt::format("--key-out {} exists; refusing to overwrite a key", path));
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw UsageError(fmt::format("cannot write {}", tmp));
  bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    throw UsageError(fmt::format("cannot write {}", tmp));
  }
  return tmp;
}

struct IssueArgs {
  std::string identity, task, purpose, ttl, key_out, public_key, actor;
  std::vector<std::string> actions, targets;
  std::optional<std::int64_t> max_messages, max_recipients;
};

void add_issue(CLI::App& grant, Context& ctx) {
  auto a = std::make_shared<IssueArgs>();
  auto* c = grant.add_subcommand("issue", "Issue a just-in-time grant for one task");
  c->add_option("ID", a->identity, "Identity id")->required();
  c->add_option("--task", a->task, "Task id")->required();
  c->add_option("--purpose", a->purpose, "What the task is")->required();
  c->add_option("--ttl", a->ttl, "Lifetime, at most governance.max_grant_ttl")->required();
  c->add_option("--actions", a->actions, "Subset of the identity's actions")->delimiter(',');
  c->add_option("--target", a->targets, "ACTION=PATTERN, narrowing the identity's targets")
      ->allow_extra_args(false);
  c->add_option("--max-messages", a->max_messages, "Quota of messages");
  c->add_option("--max-recipients", a->max_recipients, "Quota of recipients over all messages");
  auto* out =
      c->add_option("--key-out", a->key_out, "Generate a key pair; write the private key here");
  auto* in =
      c->add_option("--public-key", a->public_key, "The agent's own Ed25519 public key (PEM)");
  out->excludes(in);
  c->add_option("--actor", a->actor, "The issuer (one of the identity's grant issuers)")
      ->required();
  c->callback([&ctx, a] {
    ctx.run = [&ctx, a] {
      if (a->key_out.empty() == a->public_key.empty())
        throw UsageError("give exactly one of --key-out FILE or --public-key FILE");
      policy::GrantRequest r;
      r.id = new_grant_id();
      r.task_id = a->task;
      r.purpose = a->purpose;
      auto ttl = common::parse_duration(a->ttl);
      if (!ttl) throw UsageError(fmt::format("--ttl '{}' is not a duration", a->ttl));
      r.ttl = *ttl;
      r.actions = parse_actions(a->actions);
      r.targets = parse_targets(a->targets);
      r.max_messages = a->max_messages;
      r.max_recipients = a->max_recipients;
      std::string tmp_key;
      if (!a->key_out.empty()) {
        auto pair = policy::generate_ed25519();
        r.public_key = pair.public_raw;
        tmp_key = write_private_key_tmp(a->key_out, policy::private_key_to_pem(pair.private_raw));
      } else {
        auto key = policy::public_key_from_pem(read_file(a->public_key));
        if (!key)
          throw UsageError(fmt::format("{} holds no Ed25519 public key (PEM)", a->public_key));
        r.public_key = *key;
      }
      auto actor = ctx.actor(a->actor);
      auto result = ctx.registry().issue_grant(a->identity, r, ctx.config().grants, actor);
      if (!result.ok() && !tmp_key.empty()) ::unlink(tmp_key.c_str());
      auto g = ctx.check(result);
      if (!tmp_key.empty() && std::rename(tmp_key.c_str(), a->key_out.c_str()) != 0)
        throw UsageError(
            fmt::format("grant {} issued, but the key could not be moved to {}; "
                        "it is in {}",
                        g.id, a->key_out, tmp_key));
      if (ctx.json)
        ctx.print_json(registry::grant_to_json(g, common::now_seconds()));
      else
        fmt::print("{}\n", g.id);
      return kOk;
    };
  });
}

void print_grant(const policy::Grant& g, policy::Time now) {
  auto j = registry::grant_to_json(g, now);
  for (auto& [k, v] : j.items())
    fmt::print("{:<16}{}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
}

}  // namespace

void add_grant_commands(CLI::App& app, Context& ctx) {
  auto* grant = app.add_subcommand("grant", "Just-in-time grants for agent tasks");
  grant->require_subcommand(1);
  add_issue(*grant, ctx);

  struct RevokeArgs {
    std::string id, actor, reason;
  };
  auto r = std::make_shared<RevokeArgs>();
  auto* revoke = grant->add_subcommand("revoke", "Revoke a grant");
  revoke->add_option("GRANT", r->id, "Grant id")->required();
  revoke->add_option("--actor", r->actor, "Who revokes")->required();
  revoke->add_option("--reason", r->reason, "Why")->required();
  revoke->callback([&ctx, r] {
    ctx.run = [&ctx, r] {
      auto actor = ctx.actor(r->actor);
      auto g = ctx.check(ctx.registry().revoke_grant(r->id, actor, r->reason));
      if (ctx.json)
        ctx.print_json(registry::grant_to_json(g, common::now_seconds()));
      else
        fmt::print("grant {}: revoked\n", g.id);
      return kOk;
    };
  });

  auto id = std::make_shared<std::string>();
  auto* show = grant->add_subcommand("show", "Show one grant");
  show->add_option("GRANT", *id, "Grant id")->required();
  show->callback([&ctx, id] {
    ctx.run = [&ctx, id] {
      std::optional<policy::Grant> g;
      ctx.store().read([&](registry::StoreTx& tx) { g = tx.find_grant(*id); });
      if (!g) throw RefusedError("not_found", fmt::format("no grant '{}'", *id));
      if (ctx.json)
        ctx.print_json(registry::grant_to_json(*g, common::now_seconds()));
      else
        print_grant(*g, common::now_seconds());
      return kOk;
    };
  });

  auto identity = std::make_shared<std::string>();
  auto* list = grant->add_subcommand("list", "List grants");
  list->add_option("--identity", *identity, "Only this identity's grants");
  list->callback([&ctx, identity] {
    ctx.run = [&ctx, identity] {
      auto now = common::now_seconds();
      auto grants = ctx.store().list_grants(*identity);
      if (ctx.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& g : grants) out.push_back(registry::grant_to_json(g, now));
        ctx.print_json(out);
        return kOk;
      }
      fmt::print("{:<23} {:<20} {:<20} {:<10} {:<21} {}\n", "GRANT", "IDENTITY", "TASK", "STATE",
                 "EXPIRES", "USED");
      for (const auto& g : grants)
        fmt::print("{:<23} {:<20} {:<20} {:<10} {:<21} {}{}\n", g.id, g.identity_id, g.task_id,
                   policy::to_string(policy::grant_state(g, now)),
                   common::format_iso8601(g.expires_at), g.messages_used,
                   g.max_messages ? fmt::format("/{}", *g.max_messages) : "");
      return kOk;
    };
  });
}

}  // namespace agentgate::cli
