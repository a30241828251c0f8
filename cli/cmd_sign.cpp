// `agentgatectl sign`: the reference signer of SPEC section 4. Reads a message, binds it to the
// envelope and the grant with the claims mf, rth, h/hh and bh, signs a compact JWS with the
// agent's Ed25519 key and writes the message with an Agent-Proof header prepended.
#include <openssl/rand.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/context.hpp"
#include "common/timefmt.hpp"
#include "policy/digest.hpp"
#include "policy/jws.hpp"
#include "policy/rfc5322.hpp"
#include "policy/signer.hpp"

namespace agentgate::cli {
namespace {

struct SignArgs {
  std::string grant, key, action, in_reply_to, mail_from, audience, lifetime = "300s", identity,
                                                                    task, in, out;
  std::vector<std::string> rcpts;
};

std::string slurp(std::istream& in) {
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string random_b64url(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("no randomness");
  return policy::base64url_encode(raw);
}

}  // namespace

void add_sign_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<SignArgs>();
  auto* c = app.add_subcommand("sign", "Add an Agent-Proof header to a message (reference signer)");
  c->add_option("--grant", a->grant, "Grant id (the proof's kid)")->required();
  c->add_option("--key", a->key, "The grant's Ed25519 private key (PEM)")->required();
  c->add_option("--action", a->action, "send|reply|escalate|invoke")
      ->required()
      ->check(CLI::IsMember({"send", "reply", "escalate", "invoke"}));
  c->add_option("--in-reply-to", a->in_reply_to, "Message-ID answered (default: In-Reply-To)");
  c->add_option("--mail-from", a->mail_from, "Envelope sender (default: the From address)");
  c->add_option("--rcpt", a->rcpts, "Envelope recipient (default: To, Cc and Bcc)")
      ->allow_extra_args(false);
  c->add_option("--audience", a->audience, "The gateway's audience (default: policy.audience)");
  c->add_option("--lifetime", a->lifetime, "exp - iat, at most 300s");
  c->add_option("--identity", a->identity, "iss without reading the store (default: the grant's)");
  c->add_option("--task", a->task, "task without reading the store (default: the grant's)");
  c->add_option("IN", a->in, "Message file (default: stdin)");
  c->add_option("OUT", a->out, "Output file (default: stdout)");
  c->callback([&ctx, a] {
    ctx.run = [&ctx, a] {
      auto lifetime = common::parse_duration(a->lifetime);
      if (!lifetime || lifetime->count() <= 0 || lifetime->count() > 300)
        throw UsageError("--lifetime must be a duration of at most 300s");
      std::ifstream key_in(a->key);
      if (!key_in) throw UsageError(fmt::format("cannot read {}", a->key));
      auto key = policy::private_key_from_pem(slurp(key_in));
      if (!key) throw UsageError(fmt::format("{} holds no Ed25519 private key (PEM)", a->key));
      std::string raw;
      if (a->in.empty() || a->in == "-") {
        raw = slurp(std::cin);
      } else {
        std::ifstream in(a->in, std::ios::binary);
        if (!in) throw UsageError(fmt::format("cannot read {}", a->in));
        raw = slurp(in);
      }
      std::string error;
      auto msg = policy::parse_message(raw, &error);
      if (!msg) throw UsageError("the message is malformed: " + error);
      if (a->identity.empty() || a->task.empty()) {
        std::optional<policy::Grant> g;
        ctx.store().read([&](registry::StoreTx& tx) { g = tx.find_grant(a->grant); });
        if (!g) throw RefusedError("not_found", fmt::format("no grant '{}'", a->grant));
        if (a->identity.empty()) a->identity = g->identity_id;
        if (a->task.empty()) a->task = g->task_id;
      }
      policy::SignRequest request{a->grant,
                                  a->identity,
                                  a->task,
                                  a->audience.empty() ? ctx.config().policy.audience : a->audience,
                                  a->action,
                                  a->mail_from,
                                  a->rcpts,
                                  a->in_reply_to,
                                  common::now_seconds().time_since_epoch().count(),
                                  lifetime->count(),
                                  random_b64url(16)};
      std::string token;
      try {
        token = policy::sign_proof(*msg, request, *key);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
      std::string signed_message = "Agent-Proof: " + token + msg->eol + raw;
      if (a->out.empty() || a->out == "-") {
        std::cout << signed_message;
      } else {
        std::ofstream out(a->out, std::ios::binary);
        if (!(out << signed_message)) throw UsageError(fmt::format("cannot write {}", a->out));
      }
      return kOk;
    };
  });
}

}  // namespace agentgate::cli
