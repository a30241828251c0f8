// The milter listening socket: libmilter syntax parsing, and making a unix socket usable by the
// MTA's user (mode and group), which is the most common reason a milter tempfails everything.
#pragma once

#include <string>

#include "common/config.hpp"

namespace agentgate::milter {

// "unix:/p", "local:/p" or "/p" -> "/p"; "" for inet sockets.
std::string unix_socket_path(const std::string& spec);

// Opens the milter socket for the configured engine with the configured mode (libmilter:
// smfi_setconn + smfi_opensocket, returns -1; native: returns the listening fd), then gives a
// unix socket its owner and mode. Throws with a message naming the socket on failure.
int open_listener(const common::MilterSettings& settings);

// chown/chmod of the unix socket at path as milter.user/group/socket_mode say.
void secure_socket(const std::string& path, const common::MilterSettings& settings);

// Gives a file created as root to milter.user, so the daemon can reopen it after the drop.
void hand_over(const std::string& path, const common::MilterSettings& settings);

// Drops root to milter.user (and its groups) if configured. Throws on failure.
void drop_privileges(const common::MilterSettings& settings);

}  // namespace agentgate::milter
