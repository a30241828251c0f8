// Event chain hashing and verification.
#include "common/event_chain.hpp"

#include <fmt/format.h>

#include "policy/digest.hpp"

namespace agentgate::common {

namespace {

bool sealed(const nlohmann::json& record) {
  auto event = record.find("event");
  return event != record.end() && event->is_object() && event->contains("hash");
}

}  // namespace

std::string event_hash(const nlohmann::json& record) {
  if (!sealed(record))  // the writer's case, once per message: no copy
    return policy::sha256_hex(
        record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  nlohmann::json copy = record;
  copy["event"].erase("hash");
  return event_hash(copy);
}

EventChainCheck verify_event_stream(std::istream& in) {
  EventChainCheck c;
  std::string line;
  std::int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto bad = [&](std::string why) {
      c.ok = false;
      c.first_bad_line = lineno;
      c.problem = std::move(why);
    };
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      bad("not a JSON object");
      return c;
    }
    auto seq = j.value(nlohmann::json::json_pointer("/event/sequence"), std::int64_t{-1});
    auto prev = j.value(nlohmann::json::json_pointer("/agentgate/prev_hash"), std::string());
    auto hash = j.value(nlohmann::json::json_pointer("/event/hash"), std::string());
    if (lineno == 1 && seq > 1) {
      // A rotated file continues the previous file's chain: anchor on its first record.
      c.first_sequence = seq;
      c.last_sequence = seq - 1;
      c.head = prev;
    }
    if (seq != c.last_sequence + 1) {
      bad(fmt::format("sequence {} follows {}", seq, c.last_sequence));
      return c;
    }
    if (prev != c.head) {
      bad("agentgate.prev_hash does not link to the previous record");
      return c;
    }
    if (event_hash(j) != hash) {
      bad("event.hash does not match the record's contents");
      return c;
    }
    c.head = hash;
    c.last_sequence = seq;
    ++c.records;
  }
  return c;
}

}  // namespace agentgate::common
