// An open-addressing hash index from string keys to 32-bit record numbers, for the Snapshot.
// Keys are string_views into the snapshot's own records (never copied); slots are one flat
// array, so building is allocation-free per entry and a lookup touches one or two cache lines
// plus the record it returns. Read-only after build, hence safe to share between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace agentgate::registry {

class FlatIndex {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  void reserve(size_t entries) {
    size_t cap = 16;
    while (cap < entries * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }

  // Returns the slot's value for `key`, inserting `value` if the key is new. The caller may
  // overwrite the returned reference to replace an existing entry.
  std::uint32_t& upsert(std::string_view key, std::uint32_t value) {
    auto h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      auto& s = slots_[i];
      if (s.value == kNone) {
        s = {key, h, value};
        return s.value;
      }
      if (s.hash == h && s.key == key) return s.value;
    }
  }

  std::uint32_t find(std::string_view key) const {
    if (slots_.empty()) return kNone;
    auto h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.value == kNone) return kNone;
      if (s.hash == h && s.key == key) return s.value;
    }
  }

 private:
  struct Slot {
    std::string_view key;
    std::uint64_t hash = 0;
    std::uint32_t value = kNone;
  };
  static std::uint64_t hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace agentgate::registry
