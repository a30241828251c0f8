# shellcheck shell=bash
# common.sh: shared helpers for the agentgate end-to-end harness: harness
# root creation, background process tracking and teardown (h_cleanup),
# readiness waits, the smtp-sink next hop (sink_*) and the swaks wrapper.
# Sourced by postfix.sh and sendmail.sh; do not run it directly.
#
# Conventions:
#  * Every function returns non-zero and prints "FUNC: ERROR: ..." on stderr
#    when it fails; none of them relies on `set -e` (it is off inside
#    functions called from `if`/`||`).
#  * Start processes from the main shell (not from `$(...)` or a pipeline),
#    otherwise the pid bookkeeping used by h_cleanup is lost.
#  * Ports: SINK_PORT (default 2526) is read when sink_start runs.

if [[ -n ${_H_COMMON_SH:-} ]]; then
	return 0
fi
_H_COMMON_SH=1

: "${SINK_PORT:=2526}"
: "${SWAKS_TIMEOUT:=20}"     # per-SMTP-step timeout given to swaks
: "${SINK_WAIT:=5}"          # seconds sink_find waits for a delivery
: "${H_STOP_TIMEOUT:=10}"    # seconds h_stop_pids waits before SIGKILL

H_PIDS=()          # background pids to TERM in h_cleanup
H_HOOK_FN=()       # cleanup hooks (function, argument), run before the TERM
H_HOOK_ARG=()
H_LAST_PID=        # pid of the last h_spawn

# h_indent: copy stdin to stderr, indented (for quoting logs in errors).
h_indent() {
	sed 's/^/  | /' >&2
}

h_err() {
	printf '%s: ERROR: %s\n' "${FUNCNAME[1]:-harness}" "$*" >&2
}

h_warn() {
	printf '%s: warning: %s\n' "${FUNCNAME[1]:-harness}" "$*" >&2
}

# h_need_root: fail unless running as uid 0 (Postfix, smtp-sink -u and
# unshare all need it).
h_need_root() {
	if [[ $(id -u) -ne 0 ]]; then
		h_err "must run as root (postfix, smtp-sink -u, unshare need it)"
		return 1
	fi
}

# h_need_cmd CMD...: fail with a list of the commands not on PATH.
h_need_cmd() {
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	if ((${#missing[@]})); then
		h_err "missing command(s): ${missing[*]}" \
			"(Debian: apt-get install -y postfix swaks sasl2-bin libsasl2-modules m4 util-linux iproute2 gcc libmilter-dev)"
		return 1
	fi
}

# h_mkroot [PREFIX]: create a fresh harness root under /tmp, mode 0755 so
# that user postfix can traverse it; prints its path.
h_mkroot() {
	local d
	d=$(mktemp -d "/tmp/${1:-agentgate-e2e}.XXXXXX") || {
		h_err "mktemp failed"
		return 1
	}
	chmod 755 "$d" || return 1
	mkdir -p "$d/run" && chmod 755 "$d/run" || return 1
	printf '%s\n' "$d"
}

# h_alive PID: 0 if PID exists and is not a zombie.
h_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[[ ${st%% *} != Z ]]
}

# h_track PID: have h_cleanup stop PID.  h_untrack PID: forget it.
h_track() {
	H_PIDS+=("$1")
}

h_untrack() {
	local p keep=()
	for p in "${H_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	H_PIDS=("${keep[@]}")
}

# h_on_cleanup FUNC ARG: run "FUNC ARG" in h_cleanup (before pids are TERMed).
h_on_cleanup() {
	H_HOOK_FN+=("$1")
	H_HOOK_ARG+=("$2")
}

# h_spawn LOGFILE CMD [ARGS...]: start CMD in the background with stdout and
# stderr appended to LOGFILE, track it, set H_LAST_PID.  Call it from the
# main shell (not inside $(...)).
h_spawn() {
	local log=$1
	shift
	"$@" >>"$log" 2>&1 </dev/null &
	H_LAST_PID=$!
	h_track "$H_LAST_PID"
}

# h_stop_pids PID...: SIGTERM all PIDs at once, wait (in parallel) up to
# H_STOP_TIMEOUT s, SIGKILL stragglers, reap our children, untrack them.
# libmilter needs ~5 s to notice SIGTERM, hence no one-by-one waiting.
h_stop_pids() {
	local p left deadline
	(($#)) || return 0
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	deadline=$((SECONDS + H_STOP_TIMEOUT))
	while :; do
		left=()
		for p in "$@"; do
			h_alive "$p" && left+=("$p")
		done
		((${#left[@]})) || break
		if ((SECONDS >= deadline)); then
			h_warn "pid(s) ${left[*]} ignored SIGTERM for ${H_STOP_TIMEOUT}s; sending SIGKILL"
			kill -KILL "${left[@]}" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	for p in "$@"; do
		wait "$p" 2>/dev/null || true
		h_untrack "$p"
	done
	return 0
}

# h_cleanup: stop everything this shell started through the harness: run the
# cleanup hooks (postfix stop ...), then TERM every tracked pid at once and
# wait.  Idempotent; meant for `trap h_cleanup EXIT`.  Never fails.
h_cleanup() {
	local - i
	set +e
	for ((i = ${#H_HOOK_FN[@]} - 1; i >= 0; i--)); do
		"${H_HOOK_FN[i]}" "${H_HOOK_ARG[i]}" || h_warn "${H_HOOK_FN[i]} ${H_HOOK_ARG[i]} failed"
	done
	H_HOOK_FN=()
	H_HOOK_ARG=()
	if ((${#H_PIDS[@]})); then
		h_stop_pids "${H_PIDS[@]}"
	fi
	H_PIDS=()
	return 0
}

# h_tcp_listening PORT: 0 if something listens on TCP PORT (any address).
h_tcp_listening() {
	[[ -n $(ss -ltnH "sport = :$1" 2>/dev/null) ]]
}

# h_port_free PORT: fail with the current listener if TCP PORT is taken.
h_port_free() {
	if h_tcp_listening "$1"; then
		h_err "TCP port $1 is already in use: $(ss -ltnpH "sport = :$1" | tr -s ' ')" \
			"(set PF_PORT/PF_SASL_PORT/SINK_PORT/SM_PORT to other values)"
		return 1
	fi
}

# h_wait_tcp PORT SECS [PID]: wait until TCP PORT listens; fail early if PID
# (the process expected to listen) dies.
h_wait_tcp() {
	local port=$1 deadline=$((SECONDS + $2)) pid=${3:-}
	until h_tcp_listening "$port"; do
		if [[ -n $pid ]] && ! h_alive "$pid"; then
			h_err "pid $pid died before listening on port $port"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			h_err "nothing listening on port $port after $2 s"
			return 1
		fi
		sleep 0.05
	done
}

# h_wait_socket PATH SECS [PID]: wait until the unix socket PATH exists.
h_wait_socket() {
	local path=$1 deadline=$((SECONDS + $2)) pid=${3:-}
	until [[ -S $path ]]; do
		if [[ -n $pid ]] && ! h_alive "$pid"; then
			h_err "pid $pid died before creating socket $path"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			h_err "socket $path not created after $2 s"
			return 1
		fi
		sleep 0.05
	done
}

# h_wait_milter SPEC SECS [PID]: wait until a milter socket given in either
# libmilter (unix:/p, inet:PORT@HOST) or Postfix (inet:HOST:PORT) syntax is up.
h_wait_milter() {
	local spec
	spec=$(h_spec_libmilter "$1") || return 1
	case $spec in
	unix:* | local:*) h_wait_socket "${spec#*:}" "$2" "${3:-}" ;;
	inet:*) spec=${spec#inet:} && h_wait_tcp "${spec%%@*}" "$2" "${3:-}" ;;
	*)
		h_err "cannot wait for milter spec '$1'"
		return 1
		;;
	esac
}

# h_spec_postfix SPEC: print SPEC in Postfix syntax (unix:/p, inet:HOST:PORT).
# h_spec_libmilter SPEC: print SPEC in libmilter/Sendmail syntax
# (unix:/p, inet:PORT@HOST).  Both accept either syntax.
h_spec_postfix() {
	case $1 in
	unix:/* | local:/*) printf 'unix:%s\n' "${1#*:}" ;;
	inet:*@*)
		local r=${1#inet:}
		printf 'inet:%s:%s\n' "${r#*@}" "${r%%@*}"
		;;
	inet:*:[0-9]*) printf '%s\n' "$1" ;;
	*)
		h_err "unsupported milter spec '$1' (want unix:/path, inet:PORT@HOST or inet:HOST:PORT)"
		return 1
		;;
	esac
}

h_spec_libmilter() {
	case $1 in
	unix:/* | local:/*) printf 'unix:%s\n' "${1#*:}" ;;
	inet:[0-9]*@*) printf '%s\n' "$1" ;;
	inet:*:[0-9]*)
		local r=${1#inet:}
		printf 'inet:%s@%s\n' "${r##*:}" "${r%:*}"
		;;
	*)
		h_err "unsupported milter spec '$1' (want unix:/path, inet:PORT@HOST or inet:HOST:PORT)"
		return 1
		;;
	esac
}

# h_file_has FILE STRING: 0 if FILE contains the fixed STRING.
h_file_has() {
	[[ -f $1 ]] && grep -qF -- "$2" "$1"
}

# h_wait_file_has FILE STRING SECS: wait until FILE contains fixed STRING.
h_wait_file_has() {
	local deadline=$((SECONDS + $3))
	until h_file_has "$1" "$2"; do
		if ((SECONDS >= deadline)); then
			h_err "'$2' not found in $1 after $3 s"
			return 1
		fi
		sleep 0.05
	done
}

# ---------------------------------------------------------------------------
# smtp-sink: the next hop of both MTAs.  Files: ROOT/sink/ (one dump file per
# message, envelope included), ROOT/sink.log, ROOT/sink.pid.

# sink_start ROOT: start smtp-sink on 127.0.0.1:$SINK_PORT dumping every
# message into ROOT/sink/; returns once the port listens.
sink_start() {
	local root=${1:?sink_start ROOT}
	h_need_root && h_need_cmd smtp-sink ss || return 1
	h_port_free "$SINK_PORT" || return 1
	if ! { mkdir -p "$root/sink" && chown nobody:"$(id -gn nobody)" "$root/sink"; }; then
		h_err "cannot create $root/sink"
		return 1
	fi
	h_spawn "$root/sink.log" smtp-sink -u nobody -d "$root/sink/%H%M%S." \
		"127.0.0.1:$SINK_PORT" 100
	echo "$H_LAST_PID" >"$root/sink.pid"
	if ! h_wait_tcp "$SINK_PORT" 5 "$H_LAST_PID"; then
		h_err "smtp-sink did not start; its log:"
		h_indent <"$root/sink.log"
		return 1
	fi
}

# sink_stop ROOT: stop the smtp-sink started by sink_start (no-op if none).
sink_stop() {
	local root=${1:?sink_stop ROOT} pid
	[[ -f $root/sink.pid ]] || return 0
	pid=$(<"$root/sink.pid")
	h_stop_pids "$pid"
	rm -f "$root/sink.pid"
}

# sink_find ROOT STRING: print the path(s) of sink dump files containing the
# fixed STRING; waits up to $SINK_WAIT s for the delivery.  Fails if none.
sink_find() {
	local root=${1:?sink_find ROOT STRING} pat=${2:?sink_find ROOT STRING}
	local deadline=$((SECONDS + SINK_WAIT)) found
	while :; do
		found=$(grep -rlF -- "$pat" "$root/sink" 2>/dev/null) && [[ -n $found ]] && {
			printf '%s\n' "$found"
			return 0
		}
		if ((SECONDS >= deadline)); then
			h_err "no message containing '$pat' reached the sink in ${SINK_WAIT}s"
			return 1
		fi
		sleep 0.05
	done
}

# ---------------------------------------------------------------------------
# swaks

# swaks_send TRANSCRIPT SERVER [SWAKS-ARGS...]: run swaks against SERVER
# (HOST:PORT, or just PORT for 127.0.0.1) with a timeout, transcript to
# TRANSCRIPT, and return swaks' exit code: 0 ok, 2 connect, 23 MAIL,
# 24 RCPT, 25 DATA, 26 end of data, 28 AUTH, 124 killed by timeout.
swaks_send() {
	local out=${1:?swaks_send TRANSCRIPT SERVER [ARGS]} server=${2:?swaks_send TRANSCRIPT SERVER [ARGS]} rc=0
	shift 2
	[[ $server == *:* ]] || server=127.0.0.1:$server
	timeout -k 2 "$((SWAKS_TIMEOUT * 3))" \
		swaks --server "$server" --timeout "$SWAKS_TIMEOUT" "$@" \
		>"$out" 2>&1 </dev/null || rc=$?
	return "$rc"
}

# swaks_qid TRANSCRIPT: print the queue id from the final 250 reply
# (Postfix "queued as QID", Sendmail "250 2.0.0 QID Message accepted").
swaks_qid() {
	local line qid
	line=$(grep -E '^<-  250 .*(queued as |Message accepted)' "$1" | tail -n 1)
	if [[ $line =~ queued\ as\ ([A-Za-z0-9]+) ]]; then
		qid=${BASH_REMATCH[1]}
	elif [[ $line =~ ^\<-\ \ 250\ [0-9.]+\ ([A-Za-z0-9]+)\ Message\ accepted ]]; then
		qid=${BASH_REMATCH[1]}
	else
		h_err "no queue id in $1"
		return 1
	fi
	printf '%s\n' "$qid"
}

# swaks_last_reply TRANSCRIPT: print the last server reply line (for messages).
swaks_last_reply() {
	grep -E '^(<-|<\*\*) ' "$1" | grep -v -E '^<-  221' | tail -n 1
}
