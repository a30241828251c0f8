// SHA-256 and unpadded base64url: known vectors, round trips, and the canonical-form rules that
// keep two encodings of the same bytes from both being accepted.
#include <string>

#include <doctest/doctest.h>

#include "policy/digest.hpp"

namespace agentgate::policy {
namespace {

TEST_CASE("digest: SHA-256 matches the FIPS 180-2 vectors") {
  struct Row {
    const char* name;
    std::string input;
    const char* hex;
  };
  const Row rows[] = {
      {"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"two blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"one million 'a'", std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
      // Computed with Python's hashlib: the NUL is hashed, it does not end the input.
      {"embedded NUL", std::string("a\0b", 3),
       "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(sha256_hex(row.input) == row.hex);
      CHECK(to_hex(sha256(row.input)) == row.hex);
    }
  }
}

TEST_CASE("digest: base64url encodes the RFC 4648 vectors without padding") {
  struct Row {
    const char* bytes;
    const char* text;
  };
  const Row rows[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& row : rows) {
    SUBCASE((std::string("'") + row.bytes + "'").c_str()) {
      CHECK(base64url_encode(row.bytes) == row.text);
      auto back = base64url_decode(row.text);
      REQUIRE(back.has_value());
      CHECK(*back == row.bytes);
    }
  }
}

TEST_CASE("digest: base64url uses '-' and '_' for the last two symbols") {
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_encode("\xfb\xef\xbe") == "----");
  CHECK(base64url_encode("\xff\xff\xff") == "____");
  CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
}

TEST_CASE("digest: base64url round-trips every byte value and every length") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (size_t len = 0; len <= 64; ++len) {
    CAPTURE(len);
    auto text = base64url_encode(all.substr(0, len));
    CHECK(text.find_first_of("+/=") == std::string::npos);
    CHECK(base64url_decode(text) == all.substr(0, len));
  }
  CHECK(base64url_decode(base64url_encode(all)) == all);
  auto digest = sha256("abc");
  auto text = base64url_encode({reinterpret_cast<const char*>(digest.data()), digest.size()});
  CHECK(text.size() == 43);
}

TEST_CASE("digest: base64url_decode refuses everything but the canonical unpadded form") {
  struct Row {
    const char* why;
    std::string text;
  };
  const Row rows[] = {
      {"padding", "Zg=="},
      {"single padding", "Zm8="},
      {"standard alphabet '+'", "+_8"},
      {"standard alphabet '/'", "-/8"},
      {"non-zero trailing bits after one byte", "Zh"},
      {"non-zero trailing bits after two bytes", "Zm9"},
      {"length % 4 == 1", "Z"},
      {"length % 4 == 1 after a block", "Zm9vY"},
      {"character outside the alphabet", "Zm9*"},
      {"space inside", "Zm 9v"},
      {"leading space", " Zm9v"},
      {"trailing newline", "Zm9v\n"},
      {"NUL inside", std::string("Zm\0v", 4)},
  };
  for (const auto& row : rows) {
    SUBCASE(row.why) {
      CHECK_FALSE(base64url_decode(row.text).has_value());
    }
  }
}

}  // namespace
}  // namespace agentgate::policy
