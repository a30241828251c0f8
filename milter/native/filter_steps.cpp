// The real filter steps for the native engine (see connection.hpp). Kept apart from
// connection.cpp so that unit tests can link the engine with fake steps instead.
#include "milter/native/connection.hpp"

namespace agentgate::milter::native {

const FilterSteps& default_filter_steps() {
  static const FilterSteps steps{filter_negotiate, filter_connect, filter_mail,
                                 filter_rcpt,      filter_header,  filter_body,
                                 filter_eom,       filter_abort,   filter_close};
  return steps;
}

}  // namespace agentgate::milter::native
