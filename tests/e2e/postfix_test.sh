#!/usr/bin/env bash
# postfix_test.sh BIN_DIR: end-to-end test of agentgated behind a REAL private
# Postfix on loopback (tests/e2e/lib), with smtp-sink as the next hop and a
# registry built through the real approval flow with agentgatectl.
# BIN_DIR holds milter/agentgated and cli/agentgatectl (a CMake build dir).
# Run as root.  Prints one PASS/FAIL line per check and, last, exactly
# "N passed, M failed"; exit status 1 on any failure.  A missing prerequisite
# is a failure, never a skip.  KEEP=1 keeps the harness root on success.
# Ports (env): PF_PORT=3625 SINK_PORT=3626 PF_SASL_PORT=3627
#              PF_INET_PORT=3628 (Postfix listener using the inet milter)
#              AG_INET_PORT=3629 (the second agentgated, inet:PORT@127.0.0.1)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if (($# != 1)); then
	echo "usage: $0 BIN_DIR" >&2
	exit 2
fi
BIN_DIR=$(cd "$1" 2>/dev/null && pwd) || BIN_DIR=$1  # a missing one fails in ag_prereq
export PF_PORT=${PF_PORT:-3625} PF_SASL_PORT=${PF_SASL_PORT:-3627} SINK_PORT=${SINK_PORT:-3626}
PF_INET_PORT=${PF_INET_PORT:-3628}
AG_INET_PORT=${AG_INET_PORT:-3629}

# shellcheck source=lib/postfix.sh
source "$HERE/lib/postfix.sh"
# shellcheck source=lib/agentgate.sh
source "$HERE/lib/agentgate.sh"

H=
trap ag_finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ag_prereq postfix postconf postsuper postqueue postcat smtp-sink swaks saslpasswd2 jq python3 \
	ss runuser script timeout sed awk

H=$(h_mkroot agentgate-e2e-postfix)
mkdir -p "$H/tr"
SOCK=unix:$H/run/agentgate.sock
AG_CONF=$H/agentgate.toml
AG_EVENTS=$H/events.jsonl
AG_INET_CONF=$H/agentgate-inet.toml
AG_INET_EVENTS=$H/events-inet.jsonl
AG_LOG=$H/agentgated.log
AG_PID=

# --- setup -------------------------------------------------------------------
ag_write_config "$AG_CONF" "$SOCK" "$AG_EVENTS"
ag_write_config "$AG_INET_CONF" "inet:$AG_INET_PORT@127.0.0.1" "$AG_INET_EVENTS"
ag_must "registry built through the approval flow (agentgatectl)" ag_build_registry "@$PF_REALM"

start_main() {
	ag_start "$AG_LOG" "$AG_CONF" && AG_PID=$AG_LAST_PID
}
ag_must "start agentgated on $SOCK" start_main
start_inet() {
	h_port_free "$AG_INET_PORT" && ag_start "$H/agentgated-inet.log" "$AG_INET_CONF"
}
ag_must "start second agentgated on inet:$AG_INET_PORT@127.0.0.1" start_inet
ag_must "start smtp-sink on 127.0.0.1:$SINK_PORT" sink_start "$H"
start_postfix() {
	pf_setup "$H" "$SOCK" &&
		pf_add_sasl_user "$H" sasl-bot sasl-secret &&
		h_port_free "$PF_INET_PORT" &&
		pf_postconf "$H" -M "127.0.0.1:$PF_INET_PORT/inet=127.0.0.1:$PF_INET_PORT inet n - n - - smtpd -o syslog_name=postfix/inet -o smtpd_milters=inet:127.0.0.1:$AG_INET_PORT" &&
		pf_start "$H" &&
		h_wait_tcp "$PF_INET_PORT" 10
}
ag_must "start private postfix on $PF_PORT/$PF_SASL_PORT/$PF_INET_PORT" start_postfix

AG_PORT=$PF_PORT   # default port of ag_send

AG=agents.example.com
SB=(--xclient LOGIN=support-bot --from "support-bot@$AG" --to customer@example.com)

# --- 1. accept, forged AgentGate-Result removed ------------------------------
check_accept_forged() {
	local name="1 accept: outbound via XCLIENT, one AgentGate-Result, two forged ones removed"
	ag_send accept -- "${SB[@]}" --header "AgentGate-Result: forged.example; verdict=accept; identity=evil-bot" \
		--add-header "agentgate-result: forged-lower.example; verdict=accept; identity=evil-bot"
	ag_accepted "$name" support-bot || return 0
	if grep -qiF 'forged.example' "$COPY" || grep -qF 'evil-bot' "$COPY"; then
		ag_fail "$name" "the forged AgentGate-Result survived in $COPY"
		return 0
	fi
	if [[ $HDR != "$PF_REALM; "* || $HDR != *"direction=outbound;"* ]]; then
		ag_fail "$name" "AgentGate-Result '$HDR' does not start with the gateway or lacks direction=outbound"
		return 0
	fi
	ag_event_check "$EVID" '.user.name == "support-bot" and .gen_ai.agent.id == "support-bot" and .email.local_id != ""' ||
		{ ag_fail "$name" "event $EVID lacks user.name/gen_ai.agent.id/local_id: $(ag_event "$EVID")"; return 0; }
	ag_pass "$name ($HDR)"
}
check_accept_forged

check_ungoverned() {
	local name="1 ungoverned mail passes without AgentGate-Result or event; a forged header is still removed"
	ag_send ungoverned -- --from someone@example.org --to customer@example.com \
		--header "AgentGate-Result: forged.example; verdict=accept; identity=evil-bot"
	if ((RC != 0)) || ! COPY=$(ag_sink_copy) || [[ -z $COPY ]]; then
		ag_fail "$name" "swaks exit $RC ($(swaks_last_reply "$TR")) or not delivered"
		return 0
	fi
	if [[ -n $(ag_result_headers "$COPY") ]]; then
		ag_fail "$name" "sink copy has AgentGate-Result: $(ag_result_headers "$COPY" | tr '\n' '|')"
		return 0
	fi
	if [[ -n $(jq -c --arg s "$TOK" 'select(.email.subject | contains($s))' "$AG_EVENTS") ]]; then
		ag_fail "$name" "an event was logged for ungoverned mail"
		return 0
	fi
	ag_pass "$name"
}
check_ungoverned

# --- 2. rejects with their reason codes ----------------------------------------
ag_expect_reject "2 reject unknown_agent_sender" unknown_agent_sender 26 -- \
	--from ghost@$AG --to customer@example.com
ag_expect_reject "2 reject identity_pending (requested, not approved)" identity_pending 26 -- \
	--xclient LOGIN=pend-bot --from pend-bot@$AG --to customer@example.com
ag_expect_reject "2 reject identity_suspended" identity_suspended 26 -- \
	--xclient LOGIN=susp-bot --from susp-bot@$AG --to customer@example.com
ag_expect_reject "2 reject identity_revoked" identity_revoked 26 -- \
	--xclient LOGIN=old-bot --from old-bot@$AG --to customer@example.com

check_expired() {
	local name="2 reject identity_expired (expires_at moved to the past in the store)"
	ag_send exp-before -- --xclient LOGIN=exp-bot --from exp-bot@$AG --to customer@example.com
	ag_accepted "$name" exp-bot || return 0
	if ! ag_expire exp-bot; then
		ag_fail "$name" "could not edit $H/registry.db"
		return 0
	fi
	ag_send exp-after -- --xclient LOGIN=exp-bot --from exp-bot@$AG --to customer@example.com
	ag_rejected "$name" identity_expired 26 && ag_pass "$name ($(swaks_last_reply "$TR" | cut -c1-140))"
	return 0
}
check_expired

ag_expect_reject "2 reject principal_mismatch (wrong XCLIENT login)" principal_mismatch 26 -- \
	--xclient LOGIN=mallory --from support-bot@$AG --to customer@example.com
ag_expect_reject "2 reject principal_mismatch (no login at all)" principal_mismatch 26 -- \
	--from support-bot@$AG --to customer@example.com
ag_expect_reject "2 reject header_from_mismatch" header_from_mismatch 26 -- \
	"${SB[@]}" --header "From: The Boss <boss@example.com>"
ag_expect_reject "2 reject action_not_permitted (receive-only identity sends)" action_not_permitted "24 26" -- \
	--xclient LOGIN=recv-bot --from recv-bot@$AG --to customer@example.com
ag_expect_reject "2 reject recipient_not_permitted (at RCPT)" recipient_not_permitted 24 -- \
	--xclient LOGIN=support-bot --from support-bot@$AG --to someone@elsewhere.example
ag_expect_reject "2 reject inbox_inactive (suspended inbox, at RCPT)" inbox_inactive 24 -- \
	--from customer@example.com --to susp-bot@$AG
ag_expect_reject "2 reject inbox_receive_not_permitted (send-only inbox, at RCPT)" inbox_receive_not_permitted 24 -- \
	--from customer@example.com --to send-bot@$AG
ag_expect_reject "2 reject unknown_agent_recipient (at RCPT)" unknown_agent_recipient 24 -- \
	--from customer@example.com --to nobody@$AG

# --- 3. quarantine -------------------------------------------------------------
check_quarantine() {
	local name="3 quarantine: untrusted sender to intake-bot is held" qid ev held
	ag_send quarantine -- --from stranger@random.example --to intake-bot@$AG
	if ((RC != 0)); then
		ag_fail "$name" "swaks exit $RC, last reply: $(swaks_last_reply "$TR")"
		return 0
	fi
	qid=$(swaks_qid "$TR") || { ag_fail "$name" "no queue id in the 250 reply"; return 0; }
	pf_queue_id_in_hold "$H" "$qid" || { ag_fail "$name" "$qid is not in the hold queue"; return 0; }
	ev=$(jq -c --arg q "$qid" 'select(.email.local_id == $q)' "$AG_EVENTS")
	if ! jq -e -s 'length == 1 and (.[0].event.action == "quarantine") and (.[0].agentgate.reasons | index("sender_not_trusted"))' >/dev/null <<<"$ev"; then
		ag_fail "$name" "want one quarantine/sender_not_trusted event for $qid, got: ${ev:-none}"
		return 0
	fi
	ag_note_id "$(jq -r .event.id <<<"$ev")"
	held=$(postcat -c "$(pf_dir "$H")" -hq "$qid" 2>/dev/null | grep -i '^AgentGate-Result:' || true)
	if [[ $held != *"verdict=quarantine;"* || $held != *"trust=untrusted;"* ]]; then
		ag_fail "$name" "held copy's AgentGate-Result is '$held', want verdict=quarantine, trust=untrusted"
		return 0
	fi
	ag_pass "$name ($qid in hold; $held)"
}
check_quarantine

# --- 4. real SASL login ---------------------------------------------------------
check_sasl() {
	local name="4 SASL AUTH PLAIN as sasl-bot (principal sasl:sasl-bot@$PF_REALM)"
	ag_send sasl "$PF_SASL_PORT" -- --auth PLAIN --auth-user sasl-bot --auth-password sasl-secret \
		--from sasl-bot@$AG --to customer@example.com
	ag_accepted "$name" sasl-bot || return 0
	ag_event_check "$EVID" ".user.name == \"sasl-bot@$PF_REALM\"" ||
		{ ag_fail "$name" "event user.name is not sasl-bot@$PF_REALM: $(ag_event "$EVID")"; return 0; }
	ag_pass "$name ($HDR)"
}
check_sasl

# --- 5. revocation between two sends --------------------------------------------
check_revoke() {
	local name="5 revoke between two sends: the very next message is identity_revoked" out
	ag_send rev-before -- --xclient LOGIN=rev-bot --from rev-bot@$AG --to customer@example.com
	ag_accepted "$name" rev-bot || return 0
	if ! out=$(ag_ctl identity revoke rev-bot --actor soc-lead --reason "e2e: compromised" 2>&1); then
		ag_fail "$name" "agentgatectl identity revoke failed: $out"
		return 0
	fi
	# no sleep: enforcement must hold on the very next message
	ag_send rev-after -- --xclient LOGIN=rev-bot --from rev-bot@$AG --to customer@example.com
	ag_rejected "$name" identity_revoked 26 && ag_pass "$name ($(swaks_last_reply "$TR" | cut -c1-140))"
	return 0
}
check_revoke

# --- 6. several transactions on one connection; RSET ----------------------------
# tx_json LABEL FROM RCPT-JSON-ARRAY [FROM-HEADER] [rset]
tx_json() {
	jq -cn --arg l "$1" --arg f "$2" --argjson r "$3" --arg fh "${4:-$2}" --arg rs "${5:-}" \
		'{label: $l, from: $f, rcpt: $r, rset: ($rs == "rset"),
		  headers: [["From", $fh], ["To", ($r | join(", "))], ["Subject", $l]]}'
}

# tx_event LABEL: the (single) EOM event of the transaction with subject LABEL.
tx_event() {
	jq -c --arg s "$1" 'select(.agentgate.stage == "eom" and (.email.subject | contains($s)))' "$AG_EVENTS"
}

check_session() {
	local base="6 one connection" s=$H/session.json out tag="e2e-sess-$$" r ev
	{
		printf '{"xclient": "LOGIN=support-bot", "transactions": ['
		tx_json "$tag-A" support-bot@$AG '["cust-a@example.com"]' boss@example.com
		printf ','
		tx_json "$tag-B" support-bot@$AG '["someone@elsewhere.example", "cust-b@example.com"]'
		printf ','
		tx_json "$tag-C" support-bot@$AG '["cust-c@example.com", "intake-bot@agents.example.com"]' "" rset
		printf ','
		tx_json "$tag-D" support-bot@$AG '["cust-d@example.com"]'
		printf ']}\n'
	} >"$s"
	AG_LAST_TR=$H/tr/session.out
	if ! python3 "$HERE/lib/smtp_session.py" 127.0.0.1 "$PF_PORT" "$s" >"$AG_LAST_TR" 2>&1; then
		ag_fail "$base: session" "smtp_session.py failed: $(tail -n 3 "$AG_LAST_TR")"
		return 0
	fi
	# A: rejected at end of data (header From mismatch)
	r=$(jq -c "select(.label == \"$tag-A\")" "$AG_LAST_TR")
	ev=$(tx_event "$tag-A")
	if jq -e '.data[0] == 550 and (.data[1] | test("agentgate: header_from_mismatch: .*\\(event [0-9a-f]+\\)$"))' >/dev/null <<<"$r" &&
		jq -e -s 'length == 1 and .[0].event.action == "reject"' >/dev/null <<<"$ev"; then
		ag_note_id "$(jq -r .event.id <<<"$ev")"
		ag_pass "$base, message 1: rejected header_from_mismatch"
	else
		ag_fail "$base, message 1" "want 550 header_from_mismatch; reply $r; event ${ev:-none}"
	fi
	# B: a refused recipient, then an accepted one; accepted with only cust-b,
	# none of A's From headers, recipients or reasons
	r=$(jq -c "select(.label == \"$tag-B\")" "$AG_LAST_TR")
	ev=$(tx_event "$tag-B")
	if jq -e '.rcpt[0][0] == 550 and (.rcpt[0][1] | test("recipient_not_permitted")) and .rcpt[1][0] == 250 and .data[0] == 250' >/dev/null <<<"$r" &&
		jq -e -s 'length == 1 and .[0].event.action == "accept" and .[0].agentgate.reasons == []
			and .[0].email.to.address == ["cust-b@example.com"]' >/dev/null <<<"$ev"; then
		ag_note_id "$(jq -r .event.id <<<"$ev")"
		ag_pass "$base, message 2 after the reject: accepted, to=[cust-b] only, no inherited reasons"
	else
		ag_fail "$base, message 2 after the reject" "reply $r; event ${ev:-none}"
	fi
	# C: aborted with RSET after two accepted RCPTs (one an agent inbox that
	# does not trust support-bot); D must not inherit them
	r=$(jq -c "select(.label == \"$tag-C\")" "$AG_LAST_TR")
	ev=$(jq -c "select(.label == \"$tag-D\")" "$AG_LAST_TR")
	local evd
	evd=$(tx_event "$tag-D")
	if jq -e '[.rcpt[][0]] == [250, 250] and .rset[0] == 250' >/dev/null <<<"$r" &&
		jq -e '.data[0] == 250' >/dev/null <<<"$ev" &&
		jq -e -s 'length == 1 and .[0].event.action == "accept" and .[0].agentgate.reasons == []
			and .[0].email.direction == "outbound" and .[0].agentgate.untrusted == false
			and .[0].email.to.address == ["cust-d@example.com"]' >/dev/null <<<"$evd"; then
		ag_note_id "$(jq -r .event.id <<<"$evd")"
		ag_pass "$base, RSET then a message: accepted, to=[cust-d] only, direction outbound"
	else
		ag_fail "$base, RSET then a message" "aborted tx $r; next tx $ev; event ${evd:-none}"
	fi
	if [[ -n $(tx_event "$tag-C") ]]; then
		ag_fail "$base, RSET" "the aborted transaction produced an end-of-message decision: $(tx_event "$tag-C")"
	fi
}
check_session

# --- 11. inet milter socket (second agentgated) ----------------------------------
check_inet() {
	local name="11 inet socket: agentgated on inet:$AG_INET_PORT@127.0.0.1, Postfix on inet:127.0.0.1:$AG_INET_PORT"
	ag_send inet "$PF_INET_PORT" -- "${SB[@]}"
	ag_accepted "$name" support-bot "$AG_INET_EVENTS" && ag_pass "$name ($HDR)"
	return 0
}
check_inet
check_inet_reject() {
	local name="11 inet socket: a reject through the inet milter"
	ag_send inet-reject "$PF_INET_PORT" -- --from ghost@$AG --to customer@example.com
	ag_rejected "$name" unknown_agent_sender 26 "$AG_INET_EVENTS" && ag_pass "$name"
	return 0
}
check_inet_reject

# --- 9. SIGHUP reloads ----------------------------------------------------------
check_sighup() {
	local name="9 SIGHUP reloads the config (new gateway name in AgentGate-Result)"
	cp "$AG_CONF" "$H/agentgate.toml.orig"
	sed -i "s/^gateway = .*/gateway = \"reloaded.harness.test\"/" "$AG_CONF"
	kill -HUP "$AG_PID"
	if ! h_wait_file_has "$AG_LOG" "reloaded $AG_CONF" 5; then
		ag_fail "$name" "the log never said 'reloaded $AG_CONF'"
		return 0
	fi
	h_alive "$AG_PID" || { ag_fail "$name" "agentgated died on SIGHUP"; return 0; }
	ag_send hup-1 -- "${SB[@]}"
	ag_accepted "$name" support-bot || return 0
	[[ $HDR == "reloaded.harness.test; "* ]] ||
		{ ag_fail "$name" "AgentGate-Result '$HDR' does not name the reloaded gateway"; return 0; }
	ag_pass "$name ($HDR)"

	# two kinds of invalid: not TOML at all, and valid TOML with a bad value
	local bad n=0 deadline
	for bad in $'[policy]\nthis is not toml\n' $'[policy]\nmode = "sometimes"\n'; do
		n=$((n + 1))
		name="9 SIGHUP with an invalid config ($( ((n == 1)) && echo "not TOML" || echo 'mode = "sometimes"')) keeps the running config"
		sed "/^\[policy\]/,\$d" "$H/agentgate.toml.orig" >"$AG_CONF"
		printf '%s' "$bad" >>"$AG_CONF"
		kill -HUP "$AG_PID"
		deadline=$((SECONDS + 5))
		until (($(grep -cF 'reload refused' "$AG_LOG") >= n)) || ((SECONDS >= deadline)); do
			sleep 0.05
		done
		if (($(grep -cF 'reload refused' "$AG_LOG") < n)); then
			ag_fail "$name" "the log never said 'reload refused'"
			continue
		fi
		h_alive "$AG_PID" || { ag_fail "$name" "agentgated died on SIGHUP with a bad config"; break; }
		ag_send "hup-bad-$n" -- "${SB[@]}"
		ag_accepted "$name" support-bot || continue
		if [[ $HDR != "reloaded.harness.test; "* ]]; then
			ag_fail "$name" "AgentGate-Result '$HDR' is not from the running config"
			continue
		fi
		ag_send "hup-bad-$n-reject" -- --from "ghost@$AG" --to customer@example.com
		ag_rejected "$name" unknown_agent_sender 26 || continue
		ag_pass "$name (accept and reject still work; log: $(grep -F 'reload refused' "$AG_LOG" | tail -n 1 | sed 's/.*error: //'))"
	done
	cp "$H/agentgate.toml.orig" "$AG_CONF"
	return 0
}
check_sighup

# --- 8. agentgated killed: Postfix tempfails ------------------------------------
check_kill() {
	local name="8 agentgated killed with SIGKILL: Postfix answers 451 4.7.1, nothing accepted" line
	kill -KILL "$AG_PID"
	wait "$AG_PID" 2>/dev/null || true
	h_untrack "$AG_PID"
	ag_send killed -- "${SB[@]}"
	line=$(swaks_last_reply "$TR")
	if ((RC == 0)) || ! grep -qE '^<\*\* +451 4\.7\.1' "$TR"; then
		ag_fail "$name" "swaks exit $RC, last reply '$line', want 451 4.7.1"
		return 0
	fi
	if grep -qE '^<- +250 .*queued as' "$TR" || SINK_WAIT=1 sink_find "$H" "Subject: $TOK" >/dev/null 2>&1; then
		ag_fail "$name" "the message was accepted while the milter was down"
		return 0
	fi
	ag_pass "$name ($line)"
}
check_kill

# --- 7. monitor mode ------------------------------------------------------------
check_monitor() {
	local name="7 monitor mode: a would-be reject is accepted, marked verdict=reject mode=monitor"
	ag_write_config "$H/agentgate-monitor.toml" "$SOCK" "$AG_EVENTS" monitor
	if ! ag_start "$H/agentgated-monitor.log" "$H/agentgate-monitor.toml"; then
		ag_fail "$name" "agentgated in monitor mode did not start"
		return 0
	fi
	ag_send monitor -- --from ghost@$AG --to customer@example.com
	if ((RC != 0)) || ! COPY=$(ag_sink_copy) || [[ -z $COPY ]]; then
		ag_fail "$name" "swaks exit $RC ($(swaks_last_reply "$TR")) or not delivered"
		return 0
	fi
	HDR=$(ag_result_headers "$COPY")
	if [[ $(wc -l <<<"$HDR") != 1 || $HDR != *"verdict=reject;"* || $HDR != *"mode=monitor;"* || $HDR != *"reasons=unknown_agent_sender;"* ]]; then
		ag_fail "$name" "AgentGate-Result is '$HDR', want one with verdict=reject, reasons=unknown_agent_sender, mode=monitor"
		return 0
	fi
	EVID=$(ag_header_event_id "$HDR")
	ag_note_id "$EVID"
	ag_event_check "$EVID" '.event.action == "accept" and .agentgate.would_action == "reject" and .agentgate.mode == "monitor"' ||
		{ ag_fail "$name" "event: $(ag_event "$EVID")"; return 0; }
	ag_pass "$name ($HDR)"

	name="7 monitor mode: an RCPT-stage refusal is accepted and logged as would-reject"
	ag_send monitor-rcpt -- --xclient LOGIN=support-bot --from support-bot@$AG --to someone@elsewhere.example
	if ((RC != 0)) || ! COPY=$(ag_sink_copy) || [[ -z $COPY ]]; then
		ag_fail "$name" "swaks exit $RC ($(swaks_last_reply "$TR")) or not delivered"
		return 0
	fi
	HDR=$(ag_result_headers "$COPY")
	ag_note_id "$(ag_header_event_id "$HDR")"
	local ev
	ev=$(jq -c --arg s "$TOK" 'select(.agentgate.stage == "rcpt" and (.email.subject == "" or (.email.subject | contains($s))) and .email.to.address == ["someone@elsewhere.example"] and .email.from.address == ["support-bot@agents.example.com"])' "$AG_EVENTS" | tail -n 1)
	if [[ $HDR != *"verdict=reject;"* ]] ||
		! jq -e '.event.action == "accept" and .agentgate.would_action == "reject" and (.agentgate.reasons | index("recipient_not_permitted"))' >/dev/null <<<"$ev"; then
		ag_fail "$name" "header '$HDR'; rcpt event ${ev:-none}"
		return 0
	fi
	ag_note_id "$(jq -r .event.id <<<"$ev")"
	ag_pass "$name ($HDR)"
}
check_monitor

# --- 10. event chain ------------------------------------------------------------
ag_verify_chain "10 events verify: chain OK across a SIGKILL and a restart, covers every decision" \
	"$AG_EVENTS" "$AG_LOG" "$H/agentgated-monitor.log"
ag_verify_chain "10 events verify: the inet daemon's chain is OK and covers its decisions" \
	"$AG_INET_EVENTS" "$H/agentgated-inet.log"
ag_verify_tamper "10 events verify: an edited line in the middle is detected (exit 1)" "$AG_EVENTS"

AG_DONE=1
