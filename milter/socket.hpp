// The milter listening socket: libmilter syntax parsing, and making a unix socket usable by the
// MTA's user (mode and group), which is the most common reason a milter tempfails everything.
#pragma once

#include <string>

#include "common/config.hpp"

namespace agentgate::milter {

// "unix:/p", "local:/p" or "/p" -> "/p"; "" for inet sockets.
std::string unix_socket_path(const std::string& spec);

// smfi_setconn + smfi_opensocket with the configured mode; then chown/chmod. Throws with a
// message naming the socket on failure.
void open_listener(const common::MilterSettings& settings);

// Gives a file created as root to milter.user, so the daemon can reopen it after the drop.
void hand_over(const std::string& path, const common::MilterSettings& settings);

// Drops root to milter.user (and its groups) if configured. Throws on failure.
void drop_privileges(const common::MilterSettings& settings);

}  // namespace agentgate::milter
