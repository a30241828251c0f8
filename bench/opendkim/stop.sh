#!/usr/bin/env bash
# stop.sh PID: stop an OpenDKIM started by start.sh: SIGTERM, wait up to 10 s (libmilter takes
# ~5 s to notice), then SIGKILL. Refuses to signal a PID that is not an opendkim process.
# Exit 0 when it is gone (or was already gone).
set -euo pipefail

if (($# != 1)) || [[ ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 PID" >&2
  exit 2
fi
pid=$1
alive() {
  local st
  st=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}
alive || exit 0
comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
if [[ $comm != opendkim ]]; then
  echo "$0: pid $pid is '$comm', not opendkim; not signalling it" >&2
  exit 1
fi
kill -TERM "$pid" 2>/dev/null || exit 0
for ((i = 0; i < 100; i++)); do
  alive || exit 0
  sleep 0.1
done
echo "$0: opendkim $pid ignored SIGTERM for 10 s; sending SIGKILL" >&2
kill -KILL "$pid" 2>/dev/null || true
