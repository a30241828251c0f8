// The libmilter engine: the smfiDesc whose callbacks drive the filter (filter.hpp) through an
// MtaContext over libmilter's SMFICTX.
#pragma once

#include <libmilter/mfapi.h>

namespace agentgate::milter {
smfiDesc make_filter_description();
}
