// libFuzzer target for relaxed canonicalization. The first input byte picks a split position in
// the rest: the body hash must not depend on where (or whether) the body is split, and a header
// value folded at that position must canonicalize exactly like the unfolded value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/canonical.hpp"

namespace {

using namespace agentgate::policy;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

void check_body(std::string_view body, std::size_t pos) {
  const auto whole = relaxed_body_hash(body);
  RelaxedBodyHasher split;
  split.update(body.substr(0, pos));
  split.update(body.substr(pos));
  require(split.finish() == whole);
  if (body.size() <= 512) {
    RelaxedBodyHasher bytewise;
    for (char c : body) bytewise.update(std::string_view(&c, 1));
    require(bytewise.finish() == whole);
  }
}

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

void check_header(std::string_view text, std::size_t pos) {
  auto name = text.substr(0, std::min<std::size_t>(pos, 64));
  auto value = text.substr(name.size());
  auto out = relaxed_header(name, value);
  require(out.size() >= 3 && out.ends_with("\r\n"));
  // The canonical value: after the name's own bytes and the colon.
  auto trimmed = name;
  while (!trimmed.empty() && is_wsp(trimmed.front())) trimmed.remove_prefix(1);
  while (!trimmed.empty() && is_wsp(trimmed.back())) trimmed.remove_suffix(1);
  std::string_view canon(out);
  canon = canon.substr(trimmed.size() + 1, canon.size() - trimmed.size() - 3);
  require(canon.find_first_of("\r\n\t") == std::string_view::npos);
  require(canon.find("  ") == std::string_view::npos);
  require(canon.empty() || (canon.front() != ' ' && canon.back() != ' '));
  require(relaxed_header(name, canon) == out);  // idempotent
  // Folding at the split point is the same as one space there.
  auto at = pos - name.size() <= value.size() ? pos - name.size() : value.size();
  std::string folded = std::string(value.substr(0, at)) + "\r\n\t" + std::string(value.substr(at));
  std::string spaced = std::string(value.substr(0, at)) + " " + std::string(value.substr(at));
  require(relaxed_header(name, folded) == relaxed_header(name, spaced));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t pos = static_cast<std::size_t>(data[0]) * rest.size() / 255;
  check_body(rest, pos);
  check_header(rest, pos);
  return 0;
}
