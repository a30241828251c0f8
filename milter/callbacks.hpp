// The libmilter registration: the smfiDesc with agentgate's callbacks.
#pragma once

#include <libmilter/mfapi.h>

namespace agentgate::milter {
smfiDesc make_filter_description();
}
