// The reason trace behind `agentgatectl explain`: each check the engine ran, passed or failed,
// with the values it compared. The engine fills it only when given one, so the mail path pays
// nothing for it: the text of a step is built by a callable that runs only when tracing.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentgate::policy {

struct TraceStep {
  std::string check;  // dotted name, e.g. "proof.audience"
  bool passed = false;
  std::string compared;  // what was compared with what
};

using Trace = std::vector<TraceStep>;

// Records one check when tracing; returns `passed` so it can sit inside the condition.
template <typename Describe>
bool note(Trace* trace, std::string_view check, bool passed, Describe&& describe) {
  if (trace) trace->push_back({std::string(check), passed, std::forward<Describe>(describe)()});
  return passed;
}

}  // namespace agentgate::policy
