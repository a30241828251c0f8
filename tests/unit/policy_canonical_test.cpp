// RFC 6376 relaxed canonicalization and the proof digests: the RFC's own example, the edge cases
// of body endings, independence from chunk boundaries, bottom-up selection of repeated headers,
// and known-answer digests computed outside agentgate (Python hashlib).
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "policy/canonical.hpp"

namespace agentgate::policy {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("canonical: relaxed_header follows RFC 6376 section 3.4.2") {
  struct Row {
    const char* name;
    std::string header_name;
    std::string value;
    std::string expected;
  };
  const Row rows[] = {
      {"RFC 6376 3.4.5 first header", "A", " X", "a:X\r\n"},
      {"RFC 6376 3.4.5 folded header, space before colon", "B ", " Y\t\r\n\tZ  ", "b:Y Z\r\n"},
      {"name is lower-cased, value case kept", "SUBJECT", " Hello World",
       "subject:Hello World\r\n"},
      {"LF-only folding unfolds too", "To", " a@x.org,\n b@x.org", "to:a@x.org, b@x.org\r\n"},
      {"runs of SP and HTAB become one SP", "X", "a \t  \tb", "x:a b\r\n"},
      {"leading and trailing whitespace dropped", "X", "\t  v  \t", "x:v\r\n"},
      {"empty value", "X", "", "x:\r\n"},
      {"value of whitespace only", "X", " \t \r\n ", "x:\r\n"},
      {"no whitespace after the colon", "Date", "Mon, 1 Jun 2026", "date:Mon, 1 Jun 2026\r\n"},
      {"CRLF between non-space characters is removed", "X", "ab\r\ncd", "x:abcd\r\n"},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(relaxed_header(row.header_name, row.value) == row.expected);
    }
  }
}

TEST_CASE("canonical: relaxed_headers picks signed headers in order, bottom-up, case-blind") {
  const Headers rfc = {{"A", " X"}, {"B ", " Y\t\r\n\tZ  "}};
  const Headers received = {
      {"Received", " one"}, {"From", " a@x.org"}, {"Received", " two"}, {"received", " three"}};
  struct Row {
    const char* name;
    const Headers& headers;
    std::vector<std::string> signed_names;
    std::string expected;
  };
  const Row rows[] = {
      {"RFC 6376 3.4.5 example", rfc, {"a", "b"}, "a:X\r\nb:Y Z\r\n"},
      {"order is that of the signed names", rfc, {"b", "a"}, "b:Y Z\r\na:X\r\n"},
      {"signed names compare case-insensitively", rfc, {"A", "B"}, "a:X\r\nb:Y Z\r\n"},
      {"one listing takes the bottom instance", received, {"received"}, "received:three\r\n"},
      {"a second listing takes the next one up",
       received,
       {"received", "received"},
       "received:three\r\nreceived:two\r\n"},
      {"listings beyond the instances contribute nothing",
       received,
       {"received", "received", "received", "received"},
       "received:three\r\nreceived:two\r\nreceived:one\r\n"},
      {"an absent header contributes nothing", received, {"cc", "from"}, "from:a@x.org\r\n"},
      {"no signed names, nothing", received, {}, ""},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(relaxed_headers(row.headers, row.signed_names) == row.expected);
    }
  }
}

TEST_CASE("canonical: headers_hash is base64url SHA-256 of the relaxed headers") {
  // Python: base64.urlsafe_b64encode(sha256(b"a:X\r\nb:Y Z\r\n").digest()).rstrip(b"=")
  CHECK(headers_hash({{"A", " X"}, {"B ", " Y\t\r\n\tZ  "}}, {"a", "b"}) ==
        "Z-ZkX9PGzwcyuYxUmzhcD9WG92HNtA8pY1aFJZFrvSI");
}

TEST_CASE("canonical: relaxed body follows RFC 6376 section 3.4.4") {
  struct Row {
    const char* name;
    std::string body;
    std::string canonical;
  };
  const Row rows[] = {
      {"RFC 6376 3.4.5 example", " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n"},
      {"empty body hashes as the empty string", "", ""},
      {"body of empty lines only is empty", "\r\n\r\n\r\n", ""},
      {"one CRLF is empty", "\r\n", ""},
      {"whitespace-only lines are empty lines", " \r\n\t\r\n  \t\r\n", ""},
      {"missing final line ending is added", "abc", "abc\r\n"},
      {"trailing whitespace without line ending", "abc \t", "abc\r\n"},
      {"interior empty lines are kept", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n"},
      {"interior whitespace-only line becomes empty", "a\r\n \t \r\nb", "a\r\n\r\nb\r\n"},
      {"leading whitespace collapses to one SP", "\t\t x\r\n", " x\r\n"},
      {"bare LF line endings read as CRLF", "a \nb\n\n", "a\r\nb\r\n"},
      {"mixed CRLF and LF", "a\r\nb\n\r\nc\n", "a\r\nb\r\n\r\nc\r\n"},
      {"bare CR is an ordinary character", "a\rb\r\n", "a\rb\r\n"},
      {"CR at the very end is content", "a\r", "a\r\r\n"},
      {"CR CR LF keeps the first CR", "a\r\r\n", "a\r\r\n"},
      {"whitespace after a bare CR is trailing", "a\r \r\n", "a\r\r\n"},
      {"NUL bytes are content", std::string("a\0b\r\n", 5), std::string("a\0b\r\n", 5)},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(relaxed_body_hash(row.body) == sha256(row.canonical));
    }
  }
}

TEST_CASE("canonical: the RFC example body digest is the known answer") {
  // Python: sha256(b" C\r\nD E\r\n"), and sha256(b"") for an empty body.
  CHECK(base64url_digest(relaxed_body_hash(" C \r\nD \t E\r\n\r\n\r\n")) ==
        "unak6JHq0wL-Q1HP7dW1tjBx9FLA6DffoZ0qrLwbbpo");
  CHECK(base64url_digest(relaxed_body_hash("")) == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}

TEST_CASE("canonical: the body hash does not depend on chunk boundaries") {
  struct Row {
    const char* name;
    std::string body;
  };
  const Row rows[] = {
      {"RFC example", " C \r\nD \t E\r\n\r\n\r\n"},
      {"CRLF pairs and whitespace runs", "a \t\r\n\r\n \r\nb  c\r\n\t\r\n"},
      {"bare CR and LF", "x\r\ry\n\r\r\n z \n\n\r"},
      {"ends inside trailing whitespace", "line one\r\nline two \t "},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      const auto whole = relaxed_body_hash(row.body);
      for (std::size_t i = 0; i <= row.body.size(); ++i) {
        for (std::size_t j = i; j <= row.body.size(); ++j) {
          CAPTURE(i);
          CAPTURE(j);
          RelaxedBodyHasher h;
          h.update(std::string_view(row.body).substr(0, i));
          h.update(std::string_view(row.body).substr(i, j - i));
          h.update(std::string_view(row.body).substr(j));
          REQUIRE(h.finish() == whole);
        }
      }
      RelaxedBodyHasher bytewise;
      for (char c : row.body) bytewise.update(std::string_view(&c, 1));
      CHECK(bytewise.finish() == whole);
    }
  }
}

TEST_CASE("canonical: LF-only bodies hash like their CRLF form") {
  const std::string crlf = "Hi,\r\n\r\n  thanks for the  report.\t\r\n--\r\nbot\r\n\r\n";
  std::string lf;
  for (char c : crlf)
    if (c != '\r') lf.push_back(c);
  CHECK(relaxed_body_hash(lf) == relaxed_body_hash(crlf));
}

TEST_CASE("canonical: long runs of blank lines are counted, not buffered") {
  // 1,000,000 blank lines in four chunks: held as a counter, so the hasher's size never grows.
  const std::string blanks(250'000, '\n');
  RelaxedBodyHasher h;
  h.update("top\n");
  for (int i = 0; i < 4; ++i) h.update(blanks);
  SUBCASE("dropped when the body ends there") {
    CHECK(h.finish() == sha256("top\r\n"));
  }
  SUBCASE("kept, each as CRLF, when content follows") {
    h.update("end");
    std::string expected = "top\r\n";
    expected.reserve(2'000'100);
    for (int i = 0; i < 1'000'000; ++i) expected += "\r\n";
    CHECK(h.finish() == sha256(expected + "end\r\n"));
  }
}

TEST_CASE("canonical: a finished hasher refuses further use") {
  RelaxedBodyHasher h;
  h.update("x");
  (void)h.finish();
  CHECK_THROWS_AS(h.update("y"), std::logic_error);
  CHECK_THROWS_AS((void)h.finish(), std::logic_error);
}

TEST_CASE("canonical: recipients_hash sorts, lower-cases and joins by newline") {
  const std::string known = "fNUTTTULRLS402G3OL68Q-CVYjd2uufHbeCJovmIKt4";  // "a@x.org\nb@x.org"
  struct Row {
    const char* name;
    std::vector<std::string> recipients;
    std::string expected;
  };
  const Row rows[] = {
      {"sorted input", {"a@x.org", "b@x.org"}, known},
      {"order does not matter", {"b@x.org", "a@x.org"}, known},
      {"case does not matter", {"B@X.ORG", "a@x.org"}, known},
      {"no recipients is SHA-256 of nothing", {}, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"},
      {"one recipient has no newline", {"A@x.org"}, base64url_digest(sha256("a@x.org"))},
      {"duplicates are kept", {"a@x.org", "a@x.org"}, base64url_digest(sha256("a@x.org\na@x.org"))},
  };
  for (const auto& row : rows) {
    SUBCASE(row.name) {
      CHECK(recipients_hash(row.recipients) == row.expected);
    }
  }
}

}  // namespace
}  // namespace agentgate::policy
