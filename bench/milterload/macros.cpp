// Macro lists and values (see macros.hpp).
#include "macros.hpp"

#include <optional>

namespace agentgate::bench {
namespace {

std::vector<std::string> split_names(std::string_view list) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < list.size()) {
    auto start = list.find_first_not_of(" ,\t\r\n", pos);
    if (start == std::string_view::npos) break;
    auto end = list.find_first_of(" ,\t\r\n", start);
    if (end == std::string_view::npos) end = list.size();
    names.emplace_back(list.substr(start, end - start));
    pos = end;
  }
  return names;
}

// Postfix looks names up in "{name}" form: "i" and "{i}" are the same macro.
std::string_view bare(std::string_view name) {
  if (name.size() >= 2 && name.front() == '{' && name.back() == '}')
    return name.substr(1, name.size() - 2);
  return name;
}

std::optional<std::string_view> nonempty(std::string_view v) {
  if (v.empty()) return std::nullopt;
  return v;
}

// smtpd_milter_eval(): the value of one macro, or nullopt when it is undefined. TLS macros,
// {auth_author} and unknown names are undefined (no TLS, no AUTH with a different author).
std::optional<std::string_view> lookup(std::string_view name, const MacroContext& ctx) {
  const auto& c = *ctx.connection;
  if (name == "j" || name == "daemon_name") return c.hostname;
  if (name == "daemon_addr") return c.daemon_addr;
  if (name == "v") return c.version;
  if (name == "_") return c.client;
  if (name == "client_addr") return c.client_addr;
  if (name == "client_name" || name == "client_ptr") return c.client_name;
  if (name == "client_port") return c.client_port;
  if (ctx.message == nullptr) return std::nullopt;
  const auto& m = *ctx.message;
  if (name == "i") return m.queue_id;
  if (name == "auth_type") return m.login.empty() ? std::nullopt : nonempty("PLAIN");
  if (name == "auth_authen") return nonempty(m.login);
  if (name == "mail_addr") return m.mail_addr;
  if (name == "mail_host") return m.mail_host;
  if (name == "mail_mailer") return "smtp";
  if (ctx.recipient == nullptr) return std::nullopt;
  if (name == "rcpt_addr") return ctx.recipient->addr;
  if (name == "rcpt_host") return ctx.recipient->host;
  if (name == "rcpt_mailer") return "smtp";
  return std::nullopt;
}

}  // namespace

const std::array<std::string_view, kMacroStages>& postfix_default_macro_lists() {
  static const std::array<std::string_view, kMacroStages> lists = [] {
    std::array<std::string_view, kMacroStages> l{};
    l[SMFIM_CONNECT] = "j {daemon_name} {daemon_addr} v _";
    l[SMFIM_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}";
    l[SMFIM_ENVFROM] =
        "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} "
        "{mail_mailer}";
    l[SMFIM_ENVRCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}";
    l[SMFIM_DATA] = "i";
    l[SMFIM_EOM] = "i";
    l[SMFIM_EOH] = "i";
    return l;
  }();
  return lists;
}

MacroPlan make_macro_plan(const Negotiation& negotiation) {
  MacroPlan plan;
  const auto& defaults = postfix_default_macro_lists();
  for (size_t stage = 0; stage < kMacroStages; ++stage) {
    // MILTER_MACRO_EVAL: an empty list from the milter falls back to the default.
    const auto& own = negotiation.macro_lists[stage];
    plan.names[stage] = split_names(own.empty() ? defaults[stage] : std::string_view(own));
  }
  return plan;
}

void append_macro_pairs(std::string& out, const std::vector<std::string>& names,
                        const MacroContext& context) {
  for (const auto& name : names) {
    auto value = lookup(bare(name), context);
    if (!value) continue;
    append_cstring(out, name);
    append_cstring(out, *value);
  }
}

void append_macro_packet(std::string& out, char command, std::string_view pairs) {
  append_be32(out, static_cast<uint32_t>(pairs.size() + 2));
  out.push_back(SMFIC_MACRO);
  out.push_back(command);
  out.append(pairs);
}

}  // namespace agentgate::bench
