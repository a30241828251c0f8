#!/usr/bin/env bash
# start.sh OUTDIR SOCKSPEC: run OpenDKIM as a verify-only milter for the benchmarks and print
# its PID on stdout once SOCKSPEC listens. OUTDIR must hold `testkeys` (from keys.sh).
# SOCKSPEC in libmilter syntax: unix:/path (or local:/path) or inet:PORT@127.0.0.1.
# Writes OUTDIR/opendkim.conf, OUTDIR/opendkim.pid, OUTDIR/opendkim.log (stdout+stderr).
# Stop it with stop.sh PID.
#
# It must never query DNS (the only network here is loopback): public keys come from the
# TestPublicKeys file, and Nameservers points the resolver at 127.0.0.1 so that anything that
# would still query DNS fails at once, on loopback, instead of leaving the machine.
# It verifies mail from every client: OpenDKIM's InternalHosts default (127.0.0.1) would
# otherwise classify the benchmark's loopback traffic as "sign, don't verify" and skip it.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 OUTDIR SOCKSPEC   (SOCKSPEC: unix:/path | inet:PORT@127.0.0.1)" >&2
  exit 2
fi
out=$(cd "$1" && pwd)
spec=$2
command -v opendkim >/dev/null || {
  echo "$0: opendkim not installed (bench/lib/deps.sh)" >&2
  exit 1
}
[[ -r $out/testkeys ]] || {
  echo "$0: $out/testkeys missing (run keys.sh $out first)" >&2
  exit 1
}

case $spec in
unix:/* | local:/*)
  sock=${spec#*:}
  if [[ -S $sock ]]; then
    if ss -lxH | grep -qF " $sock "; then
      echo "$0: something already listens on $sock" >&2
      exit 1
    fi
    rm -f "$sock" # stale socket of an earlier run
  fi
  listening() { ss -lxH | grep -qF " $sock "; }
  ;;
inet:[0-9]*@*)
  port=${spec#inet:}
  port=${port%%@*}
  listening() { [[ -n $(ss -ltnH "sport = :$port") ]]; }
  if listening; then
    echo "$0: TCP port $port is already in use" >&2
    exit 1
  fi
  ;;
*)
  echo "$0: unsupported SOCKSPEC '$spec' (want unix:/path or inet:PORT@HOST)" >&2
  exit 2
  ;;
esac

conf=$out/opendkim.conf
cat >"$conf" <<EOF
# OpenDKIM for the agentgate benchmarks (written by bench/opendkim/start.sh): verify only,
# keys from a file, no DNS, no logging, foreground, no privilege drop.
Mode                v
Socket              $spec
# socket (and pid file) mode 0666: Postfix's smtpd runs as user postfix
UMask               0111
PidFile             $out/opendkim.pid
Background          no
Syslog              no
SyslogSuccess       no
LogWhy              no
SoftwareHeader      no
# public keys: "selector._domainkey.domain TXT-data" lines, never DNS
TestPublicKeys      $out/testkeys
Nameservers         127.0.0.1
# verify mail from every client (default 127.0.0.1 = "internal, sign only"); TEST-NET-1
InternalHosts       192.0.2.1
AuthservID          bench.opendkim
MinimumKeyBits      1024
EOF

opendkim -f -x "$conf" >>"$out/opendkim.log" 2>&1 </dev/null &
pid=$!
for ((i = 0; i < 200; i++)); do # up to 10 s
  if listening; then
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "$0: opendkim exited before listening; $out/opendkim.log:" >&2
    sed 's/^/  | /' "$out/opendkim.log" >&2
    exit 1
  fi
  sleep 0.05
done
echo "$0: opendkim (pid $pid) does not listen on $spec after 10 s; stopping it" >&2
kill -TERM "$pid" 2>/dev/null || true
exit 1
