// Relaxed canonicalization (RFC 6376 sections 3.4.2 and 3.4.4) and the proof's digests. The body
// canonicalizer is a small state machine over single bytes so CR, LF and whitespace runs may be
// split across chunks; its output goes through a fixed buffer into OpenSSL's SHA-256.
#include "policy/canonical.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <unordered_map>

namespace agentgate::policy {
namespace {

constexpr bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower_trimmed_name(std::string_view name) {
  while (!name.empty() && is_wsp(name.front())) name.remove_prefix(1);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::string relaxed_header(std::string_view name, std::string_view value) {
  std::string out = lower_trimmed_name(name);
  out.push_back(':');
  bool pending_space = false;
  bool started = false;  // leading whitespace of the value is dropped
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;
    if (is_wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(c);
  }
  out += "\r\n";
  return out;
}

std::string relaxed_headers(
    const std::vector<std::pair<std::string, std::string>>& headers_in_order,
    const std::vector<std::string>& signed_names) {
  // For each lower-cased name, the indices of its instances top to bottom; taking from the back
  // consumes them bottom-up.
  std::unordered_map<std::string, std::vector<std::size_t>> instances;
  for (std::size_t i = 0; i < headers_in_order.size(); ++i)
    instances[lower_trimmed_name(headers_in_order[i].first)].push_back(i);
  std::string out;
  for (const auto& name : signed_names) {
    auto it = instances.find(lower_trimmed_name(name));
    if (it == instances.end() || it->second.empty()) continue;
    const auto& [hname, hvalue] = headers_in_order[it->second.back()];
    it->second.pop_back();
    out += relaxed_header(hname, hvalue);
  }
  return out;
}

// The canonicalizer's state between chunks. Invariant: every byte of canonical output that no
// later input can change has been written to out (and possibly hashed); what is still undecided
// is held in three small fields: a CR that may start a CRLF, a whitespace run that becomes one SP
// only if content follows on the same line, and a count of empty lines that are kept only if
// content follows in the body.
struct RelaxedBodyHasher::State {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> md{EVP_MD_CTX_new()};
  std::array<char, 4096> out{};
  std::size_t out_len = 0;
  std::uint64_t empty_lines = 0;
  bool pending_cr = false;
  bool pending_wsp = false;
  bool line_has_content = false;
  bool finished = false;

  State() {
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("SHA-256 init failed");
  }

  void flush() {
    if (out_len > 0 && EVP_DigestUpdate(md.get(), out.data(), out_len) != 1)
      throw std::runtime_error("SHA-256 update failed");
    out_len = 0;
  }
  void emit(char c) {
    if (out_len == out.size()) flush();
    out[out_len++] = c;
  }
  void end_line() {
    pending_wsp = false;  // whitespace at the end of a line is ignored
    if (line_has_content) {
      emit('\r');
      emit('\n');
      line_has_content = false;
    } else {
      ++empty_lines;  // kept only if more content follows
    }
  }
  void content(char c) {
    for (; empty_lines > 0; --empty_lines) {
      emit('\r');
      emit('\n');
    }
    if (pending_wsp) emit(' ');
    pending_wsp = false;
    line_has_content = true;
    emit(c);
  }
  void feed(char c) {
    if (pending_cr) {
      pending_cr = false;
      if (c == '\n') return end_line();
      content('\r');  // a bare CR is an ordinary character
    }
    if (c == '\r')
      pending_cr = true;
    else if (c == '\n')
      end_line();  // bare LF, as in files written on Unix
    else if (is_wsp(c))
      pending_wsp = true;
    else
      content(c);
  }
};

RelaxedBodyHasher::RelaxedBodyHasher() : s_(std::make_unique<State>()) {}
RelaxedBodyHasher::~RelaxedBodyHasher() = default;
RelaxedBodyHasher::RelaxedBodyHasher(RelaxedBodyHasher&&) noexcept = default;
RelaxedBodyHasher& RelaxedBodyHasher::operator=(RelaxedBodyHasher&&) noexcept = default;

void RelaxedBodyHasher::update(std::string_view chunk) {
  if (!s_ || s_->finished) throw std::logic_error("RelaxedBodyHasher used after finish()");
  for (char c : chunk) s_->feed(c);
}

Sha256 RelaxedBodyHasher::finish() {
  if (!s_ || s_->finished) throw std::logic_error("RelaxedBodyHasher finished twice");
  auto& s = *s_;
  s.finished = true;
  if (s.pending_cr) {
    s.pending_cr = false;
    s.content('\r');
  }
  // A non-empty last line without a line ending gets one; trailing empty lines are dropped, so
  // an empty body (or one of empty lines only) hashes as the empty string.
  if (s.line_has_content) s.end_line();
  s.flush();
  Sha256 digest{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(s.md.get(), digest.data(), &len) != 1 || len != digest.size())
    throw std::runtime_error("SHA-256 final failed");
  return digest;
}

Sha256 relaxed_body_hash(std::string_view body) {
  RelaxedBodyHasher h;
  h.update(body);
  return h.finish();
}

std::string base64url_digest(const Sha256& digest) {
  return base64url_encode({reinterpret_cast<const char*>(digest.data()), digest.size()});
}

std::string headers_hash(const std::vector<std::pair<std::string, std::string>>& headers_in_order,
                         const std::vector<std::string>& signed_names) {
  return base64url_digest(sha256(relaxed_headers(headers_in_order, signed_names)));
}

std::string recipients_hash(std::vector<std::string> recipients) {
  for (auto& r : recipients) std::transform(r.begin(), r.end(), r.begin(), ascii_lower);
  std::sort(recipients.begin(), recipients.end());
  std::string joined;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    if (i > 0) joined.push_back('\n');
    joined += recipients[i];
  }
  return base64url_digest(sha256(joined));
}

}  // namespace agentgate::policy
