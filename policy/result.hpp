// Result<T>: a value or a Refusal that names the rule which refused it. Governance and policy
// return refusals as values; exceptions are kept for environment failures.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace agentgate::policy {

struct Refusal {
  std::string rule;     // short stable code, e.g. "self_approval"
  std::string message;  // for humans: names the rule and the offending value
};

inline Refusal refuse(std::string rule, std::string message) {
  return {std::move(rule), std::move(message)};
}

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Refusal r) : v_(std::move(r)) {}    // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  const T& value() const { return std::get<0>(v_); }
  T& value() { return std::get<0>(v_); }
  const Refusal& refusal() const { return std::get<1>(v_); }

 private:
  std::variant<T, Refusal> v_;
};

}  // namespace agentgate::policy
