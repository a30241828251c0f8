#!/usr/bin/env bash
# e2e.sh: end-to-end throughput of a private Postfix with or without a milter:
# smtp-source -> Postfix (tests/e2e/lib/postfix.sh) -> smtp-sink, all on loopback.
#
# Usage: bench/postfix/e2e.sh --milter none|SOCKSPEC [--sessions 8] [--messages 5000]
#          [--size 4096] [--port 4125] [--sink-port 4126] [--from bench@example.com]
#          [--to sink@example.net] [--file MESSAGE] [--warmup N] [--timeout SECS] [--keep]
#          [--dump] [--milter-pid PID]
#   --milter    none, or the socket of an ALREADY RUNNING milter (unix:/path, inet:PORT@HOST
#               or inet:HOST:PORT); a unix socket must be writable by user postfix
#   --sessions  parallel SMTP sessions of smtp-source (one message per session, as smtp-source
#               does by default)
#   --size      payload bytes per message (smtp-source -l; its own From/To/Date/Message-Id
#               headers come on top); ignored with --file
#   --file      send this pre-formatted message instead (smtp-source -F: headers, empty line,
#               body; smtp-source appends an empty line to the body)
#   --warmup    messages sent (and delivered) before the clock starts; default = --sessions
#   --timeout   give up waiting for delivery after SECS (default 60 + messages/50)
#   --keep      keep the harness root (config, maillog) and print its path
#   --dump      smtp-sink also writes every message to ROOT/sink/ (implies --keep; slower: for
#               checking what arrived, e.g. the milter's headers, not for figures)
#   --milter-pid the milter's process, to report its CPU per message
# Output: one JSON line on stdout,
#   {"milter": ..., "messages": N, "seconds": S, "msgs_per_s": R, "delivered": D, ...}
# where S runs from the start of smtp-source until smtp-sink has counted N messages (the last
# one delivered); extra keys: sessions, size, inject_seconds (until smtp-source exited), and
# CPU milliseconds per message over the timed run, which depend much less than msgs/s on what
# else runs on the machine: mta_cpu_ms (Postfix, all its processes), load_cpu_ms (smtp-source,
# smtp-sink, this script), milter_cpu_ms (with --milter-pid); null where not measurable (the
# first two need the cgroup-v1 cpuacct controller, see bench/lib/cpuacct.sh).
# Exit status 1 when D != N (the reason on stderr), 2 on bad usage.
#
# It never starts or stops the milter, never touches /etc/postfix, and sends only to loopback.
# Postfix is the harness's configuration plus what a benchmark needs: enough processes for the
# sessions, no DNS for the next hop. The sink does not dump messages unless --dump (disk would be
# the bottleneck); it counts them (smtp-sink -c).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() {
  sed -n '2,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "e2e.sh: $*" >&2
  exit 1
}

milter='' sessions=8 messages=5000 size=4096 port=4125 sink_port=4126
from=bench@example.com to=sink@example.net file='' warmup='' timeout='' keep=0 dump=0 milter_pid=''
while (($#)); do
  case $1 in
  --milter | --sessions | --messages | --size | --port | --sink-port | --from | --to | --file | \
    --warmup | --timeout | --milter-pid)
    (($# >= 2)) || usage
    v=$2
    case $1 in
    --milter) milter=$v ;; --sessions) sessions=$v ;; --messages) messages=$v ;;
    --size) size=$v ;; --port) port=$v ;; --sink-port) sink_port=$v ;; --from) from=$v ;;
    --to) to=$v ;; --file) file=$v ;; --warmup) warmup=$v ;; --timeout) timeout=$v ;;
    --milter-pid) milter_pid=$v ;;
    esac
    shift 2
    ;;
  --keep) keep=1 && shift ;;
  --dump) dump=1 keep=1 && shift ;;
  -h | --help) usage ;;
  *) echo "e2e.sh: unknown argument '$1'" >&2 && usage ;;
  esac
done
[[ -n $milter ]] || usage
for n in "$sessions" "$messages" "$size" "$port" "$sink_port" ${warmup:+"$warmup"} ${timeout:+"$timeout"} \
  ${milter_pid:+"$milter_pid"}; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a number: '$n'"
done
((sessions > 0 && messages > 0)) || die "--sessions and --messages must be > 0"
warmup=${warmup:-$sessions}
timeout=${timeout:-$((60 + messages / 50))}
if [[ -n $file ]]; then
  [[ -r $file ]] || die "cannot read --file $file"
  file=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")
fi

export PF_PORT=$port SINK_PORT=$sink_port PF_SASL_PORT=off
# shellcheck source=../../tests/e2e/lib/postfix.sh
source "$repo/tests/e2e/lib/postfix.sh"
# shellcheck source=../lib/cpuacct.sh
source "$here/../lib/cpuacct.sh"
h_need_root && h_need_cmd postfix smtp-source smtp-sink ss runuser awk || exit 1

root=$(h_mkroot agentgate-pfbench) || exit 1
cg_mta='' cg_load=''
finish() {
  local rc=$?
  h_cleanup
  [[ -n $cg_load ]] && cpu_group_remove "$cg_mta" "$cg_load"
  if ((keep)) || ((rc != 0)); then
    echo "e2e.sh: harness root kept: $root (maillog: $root/pf/maillog)" >&2
  else
    rm -rf "$root"
  fi
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# CPU accounting: Postfix in one group, the load generator (and this script) in another
if cg_load=$(cpu_group_new "${root##*/}.load") && cg_mta=$(cpu_group_new "${root##*/}.mta"); then
  cpu_group_enter "$cg_load"
else
  [[ -n $cg_load ]] && cpu_group_remove "$cg_load"
  cg_load='' cg_mta=''
fi
if [[ -n $milter_pid ]] && ! proc_cpu_ns "$milter_pid" >/dev/null; then
  die "--milter-pid $milter_pid: no such process"
fi

# --- the milter must already run and be reachable by Postfix's smtpd (user postfix)
if [[ $milter == none ]]; then
  spec=unix:$root/run/no-milter.sock # pf_setup needs a spec; cleared below
else
  spec=$milter
  h_wait_milter "$spec" 5 || die "milter $spec is not up (start it first)"
  lspec=$(h_spec_libmilter "$spec")
  if [[ $lspec == unix:* ]] && ! runuser -u postfix -- test -w "${lspec#unix:}"; then
    die "user postfix cannot write ${lspec#unix:}: make the socket 0666 (or group postfix)" \
      "and every parent directory world-executable"
  fi
fi

# --- private Postfix (harness config) + benchmark tuning
pf_setup "$root" "$spec" || die "pf_setup failed"
[[ $milter == none ]] && pf_postconf "$root" -e 'smtpd_milters='
procs=$((sessions * 3 + 50)) # smtpd per session + cleanup + smtp, with headroom
((procs < 100)) && procs=100
pf_postconf "$root" -e \
  "default_process_limit=$procs" \
  'smtp_dns_support_level=disabled' \
  'smtpd_client_connection_count_limit=0' \
  'smtpd_client_connection_rate_limit=0' \
  "default_destination_concurrency_limit=$((sessions > 20 ? sessions : 20))"

# --- sink: counts (-c writes "sess=N quit=N mesg=N\r" at every event, unbuffered) and exits
# on the last expected message (-M), so the end of the timed run is a process exit and nothing
# polls meanwhile: forks are costly here and would load the machine being measured. (Postfix
# loses the reply to that last message and defers it; the run is over by then.)
h_port_free "$sink_port" || exit 1
sink_args=(-u nobody -c -m 1024 -M "$((warmup + messages))")
if ((dump)); then
  mkdir -p "$root/sink" && chown nobody "$root/sink"
  sink_args+=(-d "$root/sink/%H%M%S.")
fi
h_spawn "$root/sink.count" smtp-sink "${sink_args[@]}" "127.0.0.1:$sink_port" 1024
sink_pid=$H_LAST_PID
h_wait_tcp "$sink_port" 5 "$sink_pid" || die "smtp-sink did not start: $(tail -c 300 "$root/sink.count")"

[[ -n $cg_mta ]] && cpu_group_enter "$cg_mta"
pf_start "$root" || die "postfix did not start"
[[ -n $cg_load ]] && cpu_group_enter "$cg_load"

# sink_count: print the number of messages smtp-sink has received (its last -c counter line)
sink_count() {
  local s
  s=$(tail -c 64 "$root/sink.count" 2>/dev/null) || s=''
  s=${s##*mesg=}
  s=${s%%[!0-9]*}
  printf '%s\n' "${s:-0}"
}

# run_source COUNT LOG: start smtp-source in the background (pid in H_LAST_PID)
run_source() {
  local args=(-s "$sessions" -m "$1" -f "$from" -t "$to")
  if [[ -n $file ]]; then args+=(-F "$file"); else args+=(-l "$size"); fi
  h_spawn "$2" smtp-source "${args[@]}" "127.0.0.1:$port"
}

# now in microseconds (EPOCHREALTIME without its locale's decimal separator; no fork)
now_us() { now=${EPOCHREALTIME//[!0-9]/}; }

# --- warm-up (not timed): processes forked, milter connections made; polled, 30 s at most
if ((warmup > 0)); then
  run_source "$warmup" "$root/source-warmup.log"
  wpid=$H_LAST_PID wrc=''
  for ((i = 0; i < 150; i++)); do
    (($(sink_count) >= warmup)) && break
    if [[ -z $wrc ]] && ! h_alive "$wpid"; then
      wrc=0
      wait "$wpid" || wrc=$?
      h_untrack "$wpid"
      ((wrc == 0)) || die "warm-up: smtp-source failed: $(tail -c 300 "$root/source-warmup.log")"
    fi
    sleep 0.2
  done
  (($(sink_count) >= warmup)) || die "warm-up: $(sink_count) of $warmup messages reached the sink in 30 s"
fi
base=$(sink_count)

# --- the measured run
# cpu_snapshot: print "MTA_NS LOAD_NS MILTER_NS" ("-" where not measured)
cpu_snapshot() {
  printf '%s %s %s\n' "$([[ -n $cg_mta ]] && cpu_group_ns "$cg_mta" || echo -)" \
    "$([[ -n $cg_load ]] && cpu_group_ns "$cg_load" || echo -)" \
    "$([[ -n $milter_pid ]] && proc_cpu_ns "$milter_pid" || echo -)"
}
cpu0=$(cpu_snapshot)
now_us && t0=$now
run_source "$messages" "$root/source.log"
spid=$H_LAST_PID
sleep "$timeout" &
timer=$!
h_track "$timer"
# Wait for whichever ends first: the sink (all delivered), smtp-source (if it failed, allow 3 s
# for what Postfix already queued), or the timer.
ok=0 src_rc='' src_end_us='' t1=''
pending=("$sink_pid" "$spid" "$timer")
while [[ -z $t1 ]]; do
  rc=0 finished=''
  wait -n -p finished "${pending[@]}" || rc=$?
  now_us
  case $finished in
  "$sink_pid") t1=$now ok=1 ;;
  "$spid")
    src_end_us=$now src_rc=$rc
    h_untrack "$spid"
    pending=("$sink_pid" "$timer")
    if ((rc != 0)); then
      h_stop_pids "$timer"
      sleep 3 &
      timer=$!
      h_track "$timer"
      pending=("$sink_pid" "$timer")
    fi
    ;;
  *) t1=$now ;; # the timer, or wait failed
  esac
done
cpu1=$(cpu_snapshot)
h_stop_pids "$timer"
delivered=$(($(sink_count) - base))
((delivered > messages)) && delivered=$messages # a retried delivery counted twice
((delivered == messages)) || ok=0

if [[ -z $src_end_us ]]; then # the sink ended first (smtp-source is quitting), or timeout
  if ((ok)); then
    src_rc=0
    wait "$spid" || src_rc=$?
    h_untrack "$spid"
  else
    h_stop_pids "$spid"
    src_rc=timeout
  fi
  now_us && src_end_us=$now
fi
if [[ $milter == none ]]; then label=none; else label=$milter; fi
awk -v milter="$label" -v n="$messages" -v d="$delivered" -v t0="$t0" -v t1="$t1" \
  -v te="$src_end_us" -v cpu0="$cpu0" -v cpu1="$cpu1" -v s="$sessions" -v size="$([[ -n $file ]] && wc -c <"$file" || echo "$size")" \
  'BEGIN {
    gsub(/\\/, "\\\\", milter); gsub(/"/, "\\\"", milter)
    secs = (t1 - t0) / 1e6
    split(cpu0, a, " "); split(cpu1, b, " ")
    for (i = 1; i <= 3; i++)
      ms[i] = (a[i] == "-" || b[i] == "-" || d == 0) ? "null" : sprintf("%.3f", (b[i] - a[i]) / 1e6 / d)
    printf "{\"milter\": \"%s\", \"messages\": %d, \"seconds\": %.3f, \"msgs_per_s\": %.1f, " \
      "\"delivered\": %d, \"sessions\": %d, \"size\": %d, \"inject_seconds\": %.3f, " \
      "\"mta_cpu_ms\": %s, \"load_cpu_ms\": %s, \"milter_cpu_ms\": %s}\n",
      milter, n, secs, (secs > 0 ? d / secs : 0), d, s, size, (te - t0) / 1e6, ms[1], ms[2], ms[3]
  }'

if ((!ok)); then
  {
    echo "e2e.sh: only $delivered of $messages messages reached the sink" \
      "(smtp-source exit: $src_rc; Postfix queue: $(pf_queue_count "$root"))"
    echo "smtp-source output:"
    tail -n 5 "$root/source.log" | h_indent 2>&1
    echo "tail of the maillog:"
    tail -n 10 "$root/pf/maillog" | h_indent 2>&1
  } >&2
  exit 1
fi
