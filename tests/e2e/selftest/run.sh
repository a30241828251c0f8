#!/usr/bin/env bash
# run.sh: self-test of the e2e harness (tests/e2e/lib) with the null milter
# from bench/nullmilter: builds it, starts smtp-sink, a private Postfix and a
# private Sendmail in front of it and checks with swaks that mail is accepted
# (plain, XCLIENT, real SASL), that the milter saw each message and the
# authenticated identity, that the hold/quarantine helpers work and that both
# MTAs tempfail (451) when the milter is down.  Run as root.
# Prints "N passed, M failed" as its last line; exit status 1 on any failure.
# KEEP=1 keeps the harness root even on success (it is always kept on failure).
# Ports: PF_PORT PF_SASL_PORT SINK_PORT SM_PORT (defaults 2525 2527 2526 2530).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
# shellcheck source=../lib/postfix.sh
source "$HERE/../lib/postfix.sh"
# shellcheck source=../lib/sendmail.sh
source "$HERE/../lib/sendmail.sh"

PASS=0
FAIL=0
DONE=0
H=
T0=$SECONDS

pass() {
	PASS=$((PASS + 1))
	printf 'PASS  %s\n' "$1"
}

fail() {
	FAIL=$((FAIL + 1))
	printf 'FAIL  %s: %s\n' "$1" "$2"
}

finish() {
	local rc=$?
	set +e
	if ((DONE == 0)); then
		fail "self-test" "aborted (exit status $rc) before the end; see the messages above"
	fi
	h_cleanup
	if [[ -n $H ]]; then
		if ((FAIL)) || [[ ${KEEP:-0} == 1 ]]; then
			echo "harness root kept for inspection: $H"
		else
			rm -rf "$H"
		fi
	fi
	echo "time: $((SECONDS - T0)) s"
	printf '%d passed, %d failed\n' "$PASS" "$FAIL"
	((FAIL == 0)) || exit 1
	exit 0
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# must NAME CMD...: a setup step; on failure record it and stop the run.
must() {
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name" "setup step failed (see the error above); stopping"
		exit 1
	fi
}

# send_ok NAME SERVER EXPECT_AUTH [SWAKS-ARGS...]: the message must be
# accepted (swaks rc 0), reach the sink, and the milter must have logged its
# queue id at end-of-message with "auth_type=... auth_authen=..." EXPECT_AUTH.
send_ok() {
	local name=$1 server=$2 auth=$3 tok qid rc=0 tr
	shift 3
	tok="$name-$$-$RANDOM$RANDOM"
	tr=$H/transcripts/$name.txt
	swaks_send "$tr" "$server" --from sender@example.com --to rcpt@dest.example \
		--header "X-Harness-Token: $tok" "$@" || rc=$?
	if ((rc != 0)); then
		fail "$name" "swaks exit $rc, last reply: $(swaks_last_reply "$tr") ($tr)"
		return 0
	fi
	if ! qid=$(swaks_qid "$tr"); then
		fail "$name" "no queue id in $tr"
		return 0
	fi
	if ! sink_find "$H" "$tok" >/dev/null; then
		fail "$name" "queued as $qid but never reached the sink"
		return 0
	fi
	if ! h_wait_file_has "$H/milter.log" "eom qid=$qid $auth" 3 2>/dev/null; then
		fail "$name" "milter log has no 'eom qid=$qid $auth'; it has: $(grep -F "qid=$qid" "$H/milter.log" || echo nothing)"
		return 0
	fi
	pass "$name (queued as $qid, milter saw $auth)"
}

# send_rc NAME SERVER RC REPLY [SWAKS-ARGS...]: swaks must exit with RC and
# the transcript must contain the fixed string REPLY.
send_rc() {
	local name=$1 server=$2 want=$3 reply=$4 rc=0 tr
	shift 4
	tr=$H/transcripts/$name.txt
	swaks_send "$tr" "$server" --from sender@example.com --to rcpt@dest.example "$@" || rc=$?
	if ((rc != want)); then
		fail "$name" "swaks exit $rc, expected $want; last reply: $(swaks_last_reply "$tr") ($tr)"
	elif ! grep -qF -- "$reply" "$tr"; then
		fail "$name" "exit $rc as expected but no '$reply' in $tr"
	else
		pass "$name (swaks exit $rc, '$reply')"
	fi
}

# --- prerequisites: a missing one is a failure, never a skip -----------------
prereq() {
	local ok=1 c
	if [[ $(id -u) -ne 0 ]]; then
		fail prerequisites "must run as root"
		ok=0
	fi
	for c in cc postfix postconf postsuper postqueue smtp-sink swaks saslpasswd2 \
		unshare mount ss runuser script timeout flock apt-get dpkg; do
		if ! command -v "$c" >/dev/null 2>&1; then
			fail prerequisites "command '$c' not found"
			ok=0
		fi
	done
	if [[ ! -f /usr/include/libmilter/mfapi.h ]]; then
		fail prerequisites "libmilter headers missing (apt-get install -y libmilter-dev)"
		ok=0
	fi
	if ! compgen -G '/usr/lib/*/sasl2/libsasldb.so*' >/dev/null; then
		fail prerequisites "Cyrus sasldb plugin missing (apt-get install -y libsasl2-modules)"
		ok=0
	fi
	((ok)) || {
		echo "install with: apt-get install -y postfix swaks sasl2-bin libsasl2-modules libmilter-dev gcc m4 libwrap0 util-linux iproute2"
		exit 1
	}
	pass prerequisites
}
prereq

H=$(h_mkroot agentgate-selftest)
mkdir -p "$H/bin" "$H/transcripts"
MSOCK=unix:$H/run/milter.sock

# --- build and start the null milter, the sink and Postfix -------------------
build_milter() {
	local flags
	flags=$(pkg-config --cflags --libs milter 2>/dev/null) || flags=-lmilter
	# shellcheck disable=SC2086 # $flags is a word list
	if ! cc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -pthread \
		-o "$H/bin/nullmilter" "$TOP/bench/nullmilter/nullmilter.c" $flags \
		>"$H/build.log" 2>&1; then
		h_indent <"$H/build.log"
		return 1
	fi
}
must "build nullmilter" build_milter

start_milter() {
	h_spawn "$H/milter.log" "$H/bin/nullmilter" -p "$MSOCK"
	MILTER_PID=$H_LAST_PID
	h_wait_milter "$MSOCK" 5 "$MILTER_PID" || {
		h_indent <"$H/milter.log"
		return 1
	}
}
must "start nullmilter on $MSOCK" start_milter
must "start smtp-sink on 127.0.0.1:$SINK_PORT" sink_start "$H"

start_postfix() {
	pf_setup "$H" "$MSOCK" &&
		pf_add_sasl_user "$H" agent2 secret2 &&
		pf_start "$H"
}
must "start private postfix on $PF_PORT/$PF_SASL_PORT" start_postfix

# --- Postfix -------------------------------------------------------------------
send_ok pf-plain "$PF_PORT" "auth_type=- auth_authen=-"
send_ok pf-xclient "$PF_PORT" "auth_type=XCLIENT auth_authen=agent1" --xclient LOGIN=agent1
send_ok pf-sasl "$PF_SASL_PORT" "auth_type=PLAIN auth_authen=agent2@mta.harness.test" \
	--auth PLAIN --auth-user agent2 --auth-password secret2
send_ok pf-sasl-login "$PF_SASL_PORT" "auth_type=LOGIN auth_authen=agent2@mta.harness.test" \
	--auth LOGIN --auth-user agent2 --auth-password secret2
send_rc pf-sasl-badpass "$PF_SASL_PORT" 28 "535 5.7.8" \
	--auth PLAIN --auth-user agent2 --auth-password wrong
send_rc pf-sasl-noauth "$PF_SASL_PORT" 24 "554 5.7.1"

pf_hold_test() {
	local name=pf-hold-release tr=$H/transcripts/pf-hold.txt tok qid rc=0 n
	tok="pf-hold-$$-$RANDOM"
	swaks_send "$tr" "$PF_PORT" --from "$PF_HOLD_SENDER" --to rcpt@dest.example \
		--header "X-Harness-Token: $tok" || rc=$?
	((rc == 0)) || { fail $name "swaks exit $rc: $(swaks_last_reply "$tr")"; return 0; }
	qid=$(swaks_qid "$tr") || { fail $name "no queue id"; return 0; }
	pf_queue_id_in_hold "$H" "$qid" || { fail $name "$qid is not in hold"; return 0; }
	n=$(pf_hold_count "$H")
	((n == 1)) || { fail $name "pf_hold_count says $n, expected 1"; return 0; }
	pf_release "$H" "$qid" || { fail $name "pf_release $qid failed"; return 0; }
	sink_find "$H" "$tok" >/dev/null || { fail $name "released $qid never reached the sink"; return 0; }
	pf_queue_id_in_hold "$H" "$qid" && { fail $name "$qid still in hold"; return 0; }
	pass "$name ($qid held, counted, released, delivered)"
}
pf_hold_test

# --- Sendmail ------------------------------------------------------------------
SM_TESTS=(sm-plain sm-sasl sm-quarantine-release sm-quarantine-delete sm-milter-down)
start_sendmail() {
	sm_setup "$H" "$MSOCK" &&
		sm_add_sasl_user "$H" agent3 secret3 &&
		sm_start "$H"
}
SM_OK=1
if start_sendmail; then
	pass "start private sendmail on $SM_PORT"
else
	fail "start private sendmail on $SM_PORT" "setup failed (see above)"
	SM_OK=0
	for t in "${SM_TESTS[@]}"; do
		fail "$t" "not run: sendmail did not start"
	done
fi

# sm_queue_local TOKEN: queue a message with `sendmail -odq` (no SMTP, no
# milter) and print its queue id.
sm_queue_local() {
	local f
	printf 'Subject: harness\nX-Harness-Token: %s\n\nhello\n' "$1" |
		sm_cmd "$H" -odq -f sender@example.com rcpt@dest.example || return 1
	f=$(grep -lF -- "$1" "$H"/sm/spool/mqueue/qf* 2>/dev/null) || return 1
	printf '%s\n' "${f##*/qf}"
}

sm_quarantine_test() {
	local name=sm-quarantine-release tok id list
	tok="sm-q1-$$-$RANDOM"
	id=$(sm_queue_local "$tok") || { fail $name "could not queue a message locally"; return 0; }
	sm_quarantine "$H" "$id" "harness test reason" || { fail $name "sm_quarantine failed"; return 0; }
	list=$(sm_quarantined "$H") || { fail $name "sm_quarantined failed"; return 0; }
	[[ $list == "$id"$'\t'"harness test reason" ]] ||
		{ fail $name "sm_quarantined printed '$list'"; return 0; }
	sm_release "$H" "$id" || { fail $name "sm_release failed"; return 0; }
	sink_find "$H" "$tok" >/dev/null || { fail $name "released $id never reached the sink"; return 0; }
	pass "$name ($id quarantined, listed with reason, released, delivered)"

	name="sm-quarantine-delete"
	tok="sm-q2-$$-$RANDOM"
	id=$(sm_queue_local "$tok") || { fail $name "could not queue a message locally"; return 0; }
	sm_quarantine "$H" "$id" "to be deleted" || { fail $name "sm_quarantine failed"; return 0; }
	sm_delete "$H" "$id" || { fail $name "sm_delete failed"; return 0; }
	list=$(sm_quarantined "$H") || { fail $name "sm_quarantined failed"; return 0; }
	[[ -z $list ]] || { fail $name "still listed: '$list'"; return 0; }
	compgen -G "$H/sm/spool/mqueue/*$id" >/dev/null && { fail $name "files left for $id"; return 0; }
	pass "$name ($id deleted)"
}

if ((SM_OK)); then
	send_ok sm-plain "$SM_PORT" "auth_type=- auth_authen=-"
	send_ok sm-sasl "$SM_PORT" "auth_type=PLAIN auth_authen=agent3" \
		--auth PLAIN --auth-user agent3 --auth-password secret3
	sm_quarantine_test
fi

# --- milter down: both MTAs must tempfail ----------------------------------
h_stop_pids "$MILTER_PID"
if [[ -S ${MSOCK#unix:} ]]; then
	fail "stop nullmilter" "socket still exists after the milter exited"
else
	pass "stop nullmilter (socket removed)"
fi
send_rc pf-milter-down "$PF_PORT" 23 "451 4.7.1"
if ((SM_OK)); then
	send_rc sm-milter-down "$SM_PORT" 23 "451 4.3.2"
fi

DONE=1
