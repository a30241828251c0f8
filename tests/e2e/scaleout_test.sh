#!/usr/bin/env bash
# scaleout_test.sh BIN_DIR: many MTAs sharing one store, end to end.  Two REAL private Postfix
# instances side by side, MTA A (myhostname mta-a.test, 127.0.0.1:$A_PORT) and MTA B
# (mta-b.test, 127.0.0.1:$B_PORT), each with its own agentgated (own milter socket, control
# socket, metrics port, event log; [mta] host and [policy] gateway mta-a.test / mta-b.test, so
# events and quarantine rows name the MTA) and its own smtp-sink; ONE store.  Both gateways have
# the same [policy] audience (mx.agents.example.com): the realistic case of several MTAs behind
# one name, so an agent signs once and any MTA may carry the message.  require_proof = true;
# messages are signed with `agentgatectl sign` beforehand.
#
# Checks (PASS/FAIL lines, then exactly "N passed, M failed"):
#  1. revocation across MTAs: a sender loop runs through MTA B while `agentgatectl identity
#     revoke` runs with MTA A's config (B learns it only through the store); the first
#     identity_revoked on B starts < 1000 ms after the CLI returned (SPEC 8), nothing is
#     accepted after it nor after +1 s; and the reverse (CLI on B, traffic on A);
#  2. shared quota: a --max-messages 5 grant, 10 messages alternating A, B, A, B...: exactly 5
#     accepted (on both MTAs) and 5 refused grant_exhausted;
#  3. replay across MTAs: a proof accepted on A and reused on another message through B is
#     proof_replayed; the byte-identical message through B is an identical retry (SPEC 4):
#     accepted, and the grant counts it once;
#  4. one quarantine view: untrusted inbound mail quarantined on A and on B; `quarantine list`
#     with either config shows both, each with its host; B's message released from A's CLI is
#     refused naming B (docs/soc.md: act on the host that holds it) and stays held; released
#     with B's config it reaches B's sink; deleted with B's config it is gone;
#  5. PostgreSQL restart (AG_STORE=postgresql only): PostgreSQL stopped ~3 s during loops
#     through both MTAs: every message during the outage is tempfailed (4xx), none rejected,
#     none accepted without its proof recorded; both MTAs accept again within
#     $PG_RECOVERY_MS ms of the restart (reported); a message tempfailed during the outage and
#     resent unchanged is accepted; the daemons connect as the restricted role agentgate_milter
#     (lib/pg_milter_role.sql), which cannot write the registry or the audit chain;
#  6. the audit chain and both event chains verify (refusals' event ids in their MTA's log);
#     every event names its MTA (observer.hostname), every delivered AgentGate-Result its
#     gateway; every accepted proof is recorded as spent in the store; each sink received
#     exactly the messages its MTA accepted or released (no loss, no duplicates).
#
# Store: AG_STORE=sqlite (default): AG_STORE_URL, default sqlite://ROOT/registry.db, shared by
# both daemons on this host; the PostgreSQL-only checks are listed as NOT RUN with the reason
# (CTest runs the PostgreSQL variant, see CMakeLists.txt).  AG_STORE=postgresql: run under
#   tests/pg/cluster.sh 5460 -- env AG_STORE=postgresql tests/e2e/scaleout_test.sh BIN_DIR
# a fresh database `agentgate` in that cluster; the CLI connects as the owner (the cluster's
# superuser), the daemons as agentgate_milter.
#
# Run as root.  A missing prerequisite is a failure, never a skip.  KEEP=1 keeps the harness
# root.  Ports (env): A_PORT=4125 A_SINK_PORT=4126 B_PORT=4127 B_SINK_PORT=4128
# A_METRICS_PORT=4129 B_METRICS_PORT=4130.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if (($# != 1)); then
	echo "usage: $0 BIN_DIR" >&2
	exit 2
fi
BIN_DIR=$(cd "$1" 2>/dev/null && pwd) || BIN_DIR=$1 # a missing one fails in ag_prereq
export PF_SASL_PORT=off
declare -A PORT=([a]=${A_PORT:-4125} [b]=${B_PORT:-4127})
declare -A SINKP=([a]=${A_SINK_PORT:-4126} [b]=${B_SINK_PORT:-4128})
declare -A METRICS=([a]=${A_METRICS_PORT:-4129} [b]=${B_METRICS_PORT:-4130})
declare -A HOST=([a]=mta-a.test [b]=mta-b.test)
declare -A UP=([a]=A [b]=B)
AUDIENCE=mx.agents.example.com
AG=agents.example.com
AG_STORE=${AG_STORE:-sqlite}
PY=/usr/bin/python3
LATENCY_MS=1000       # SPEC 8: visible within 1 s across MTAs sharing PostgreSQL
# `agentgatectl sign` costs ~0.1-0.2 s of CPU per message on the 2-core test machines, so the
# loops are paced (send_loop.py --interval) and the messages signed while other things run.
LOOP_TAIL=${LOOP_TAIL:-1.3}            # the revocation loop goes on this long after the CLI
REVOKE_INTERVAL=${REVOKE_INTERVAL:-0.04} # revocation loops: one message per 40 ms at most
REVOKE_SIGNED=${REVOKE_SIGNED:-60}     # pre-signed messages per revocation run
PG_OUTAGE=${PG_OUTAGE:-3}              # seconds PostgreSQL stays down
PG_RECOVERY_MS=${PG_RECOVERY_MS:-5000} # both MTAs accept again within this after the restart
PG_INTERVAL=${PG_INTERVAL:-0.15}       # the outage loops: one message per 150 ms at most
PG_SIGNED=${PG_SIGNED:-60}             # pre-signed messages per MTA for the outage loops

# shellcheck source=lib/postfix.sh
source "$HERE/lib/postfix.sh"
# shellcheck source=lib/agentgate.sh
source "$HERE/lib/agentgate.sh"
# shellcheck source=lib/pg.sh
source "$HERE/lib/pg.sh"

H=
NOT_RUN=()
trap ag_finish EXIT
# an unexpected failure names its line before ag_finish counts the abort
set -E
trap 'echo "scaleout_test.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

prereqs=(postfix postconf postqueue postsuper smtp-sink swaks jq "$PY" ss runuser script timeout sed)
[[ $AG_STORE == sqlite ]] && prereqs+=(sqlite3)
[[ $AG_STORE == postgresql ]] && prereqs+=(psql)
ag_prereq "${prereqs[@]}"

H=$(h_mkroot agentgate-e2e-scaleout)

# --- the store ---------------------------------------------------------------
# URL_CLI: what agentgatectl uses (the owner); URL_MILTER: what both daemons use.
case $AG_STORE in
sqlite)
	URL_CLI=${AG_STORE_URL:-sqlite://$H/registry.db}
	URL_MILTER=$URL_CLI
	if [[ $URL_CLI != sqlite://* ]]; then
		ag_fail "store" "AG_STORE=sqlite but AG_STORE_URL is '$URL_CLI'"
		AG_DONE=1
		exit 1
	fi
	store_sql() { sqlite3 -batch "${URL_CLI#sqlite://}" "$1"; }
	;;
postgresql)
	ag_must "PostgreSQL cluster of tests/pg/cluster.sh ($AGENTGATE_TEST_PG_URL)" pg_need
	URL_CLI=$(pg_url agentgate agentgate)
	URL_MILTER=$(pg_url agentgate_milter agentgate)
	# A slow poll: a change can reach the other MTA within 1 s only through the change feed
	# (LISTEN/NOTIFY), which this run proves; the poll stays the heartbeat (< max_staleness).
	: "${AG_POLL_INTERVAL:=5s}"
	store_sql() { pg_psql "$URL_CLI" -c "$1"; }
	# the cluster (and its log) disappears with cluster.sh: keep a copy with the harness root
	cp_pg_log() { cp "$PG_DATA/server.log" "$H/postgresql.log" 2>/dev/null || true; }
	h_on_cleanup cp_pg_log ""
	;;
*)
	ag_fail "store" "AG_STORE must be sqlite or postgresql, not '$AG_STORE'"
	AG_DONE=1
	exit 1
	;;
esac

# --- configs: per MTA, one for the CLI (the owner's URL) and one for the daemon --------------
# write_config MTA URL: the config (stdout).
write_config() {
	local m=$1
	cat <<TOML
# generated by tests/e2e/scaleout_test.sh: MTA ${UP[$m]}
[milter]
socket = "unix:$H/$m/run/milter.sock"
group = "postfix"
[control]
socket = "$H/$m/run/control.sock"
metrics = "127.0.0.1:${METRICS[$m]}"
[store]
url = "$2"${AG_POLL_INTERVAL:+
poll_interval = \"$AG_POLL_INTERVAL\"}
[policy]
mode = "enforce"
agent_domains = ["$AG"]
audience = "$AUDIENCE"
gateway = "${HOST[$m]}"
require_proof = true
[governance]
ig_reviewers = ["alice"]
security_officers = ["soc-lead"]
[events]
path = "$H/$m/events.jsonl"
[mta]
kind = "postfix"
config_dir = "$H/$m/pf/etc"
host = "${HOST[$m]}"
TOML
}
for m in a b; do
	mkdir -p "$H/$m/run"
	chmod 755 "$H/$m" "$H/$m/run"
	write_config "$m" "$URL_CLI" >"$H/$m/agentgate.toml"
	write_config "$m" "$URL_MILTER" >"$H/$m/agentgated.toml"
done
conf() { printf '%s\n' "$H/$1/agentgate.toml"; }
ctl() { # ctl MTA ARGS...: agentgatectl with that MTA's (CLI) config
	local m=$1
	shift
	"$BIN_DIR/cli/agentgatectl" -c "$H/$m/agentgate.toml" "$@"
}
AG_CONF=$(conf a) # ag_request / ag_approve / ag_verify_chain use it

# --- the registry, through the real approval flow (A's CLI) ---------------------------------
#   rv-a-bot, rv-b-bot  send; revoked through A's / B's CLI (check 1)
#   work-bot            send; grants for the quota, replay and outage checks
#   intake-bot          receive only, trusts @partner.example (strangers: quarantine)
build_registry() {
	local id
	if [[ $AG_STORE == postgresql ]]; then
		pg_create_store agentgate || return 1
	fi
	ctl a init >/dev/null || return 1
	if [[ $AG_STORE == postgresql ]]; then
		pg_milter_role agentgate || return 1
	fi
	for id in rv-a-bot rv-b-bot work-bot; do
		ag_request "$id" --actions send --principal "sasl:$id" --target send=@example.com \
			--grant-issuer orchestrator >/dev/null &&
			ag_approve "$id" system >/dev/null || return 1
	done
	ag_request intake-bot --actions receive --accept-from @partner.example >/dev/null &&
		ag_approve intake-bot >/dev/null || return 1
	issue rv-a-bot T-rva rva && issue rv-b-bot T-rvb rvb && issue work-bot T-quota quota --max-messages 5 &&
		issue work-bot T-replay replay && issue work-bot T-outage outage
}
declare -A GRANT GRANT_ID GRANT_TASK
# issue ID TASK NAME [ARGS...]: a 30-minute grant for ID; key in $H/keys/NAME.pem.
issue() {
	local id=$1 task=$2 name=$3
	shift 3
	mkdir -p "$H/keys"
	GRANT[$name]=$(ctl a grant issue "$id" --task "$task" --purpose "scale-out test $name" --ttl 30m \
		"$@" --key-out "$H/keys/$name.pem" --actor orchestrator) || return 1
	GRANT_ID[$name]=$id
	GRANT_TASK[$name]=$task
}
build_registry_logged() {
	# before the daemons run, the CLI notes that it could not notify them: keep that in a log
	build_registry 2>>"$H/registry-build.log" || {
		h_indent <"$H/registry-build.log"
		return 1
	}
}
store_desc=$URL_CLI
[[ $AG_STORE == postgresql ]] && store_desc="$URL_CLI (daemons as agentgate_milter)"
ag_must "one store, $store_desc: 4 identities and 5 grants through the approval flow" \
	build_registry_logged

# --- messages ------------------------------------------------------------------
# message FILE ID SUBJECT [EXTRA-HEADER...]: a message from ID to customer@example.com (CRLF).
message() {
	local f=$1 id=$2 subj=$3
	shift 3
	{
		printf '%s\r\n' "From: ${id^} <$id@$AG>" "To: customer@example.com" "Subject: $subj" \
			"Date: $(date -R)" "Message-ID: <$subj.$$@$AG>" "$@"
		printf '\r\nscale-out test message %s\r\n' "$subj"
	} >"$f"
}
# sign_msg NAME IN OUT: sign IN under grant NAME (without reading the store).
sign_msg() {
	ctl a sign --grant "${GRANT[$1]}" --key "$H/keys/$1.pem" --action send \
		--identity "${GRANT_ID[$1]}" --task "${GRANT_TASK[$1]}" "$2" "$3"
}
# presign NAME PREFIX COUNT: COUNT messages signed under grant NAME, subjects so-PREFIX-I;
# their paths, in order, in $H/signed/PREFIX.list.
presign() {
	local name=$1 prefix=$2 count=$3 i f dir=$H/signed/$2
	mkdir -p "$dir"
	: >"$dir.list"
	for ((i = 1; i <= count; i++)); do
		f=$dir/m$i.eml
		message "$f.raw" "${GRANT_ID[$name]}" "so-$prefix-$i"
		sign_msg "$name" "$f.raw" "$f" || return 1
		echo "$f" >>"$dir.list"
	done
}
# presign_all NAME:PREFIX:COUNT...: presign them, two at a time (the machine has 2 cores).
presign_all() {
	local spec pids=() rc=0 p n pre c
	for spec in "$@"; do
		IFS=: read -r n pre c <<<"$spec"
		presign "$n" "$pre" "$c" &
		pids+=($!)
		if ((${#pids[@]} == 2)); then
			for p in "${pids[@]}"; do wait "$p" || rc=1; done
			pids=()
		fi
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return "$rc"
}
# presign_bg TAG SPEC...: presign_all SPEC... in the background (tracked for h_cleanup);
# presign_wait TAG waits for it and fails when it failed.
declare -A PRESIGN_PID
presign_bg() {
	local tag=$1
	shift
	h_spawn "$H/presign-$tag.log" presign_timed "$@"
	PRESIGN_PID[$tag]=$H_LAST_PID
}
presign_timed() {
	local t0=$EPOCHREALTIME rc=0
	presign_all "$@" || rc=$?
	echo "signed $* in $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000)) ms (exit $rc)"
	return "$rc"
}
presign_wait() {
	local rc=0
	wait "${PRESIGN_PID[$1]}" || rc=$?
	h_untrack "${PRESIGN_PID[$1]}"
	if ((rc != 0)); then
		h_err "signing failed:"
		h_indent <"$H/presign-$1.log"
		return 1
	fi
	echo "INFO  $(tail -n 1 "$H/presign-$1.log")"
}
section() {
	echo "--- $1 (t=$((SECONDS - AG_T0)) s)"
}
# signed while the MTAs start
presign_bg first rva:rva:"$REVOKE_SIGNED" rvb:rvb:"$REVOKE_SIGNED" quota:quota:10 replay:replay:1

# expect_delivery MTA SUBJECT: the sink of MTA must receive SUBJECT (once more).
expect_delivery() {
	printf '%s\n' "$2" >>"$H/expected-$1.list"
}
: >"$H/expected-a.list"
: >"$H/expected-b.list"
subject_of() {
	sed -n 's/^Subject: \(.*\)\r\{0,1\}$/\1/p' "$1" | head -n 1 | tr -d '\r'
}

# --- the two MTAs ------------------------------------------------------------
declare -A AGPID
start_mta() {
	local m=$1
	ag_start "$H/$m/agentgated.log" "$H/$m/agentgated.toml" || return 1
	AGPID[$m]=$AG_LAST_PID
	if [[ $AG_STORE == postgresql ]] &&
		! h_wait_file_has "$H/$m/agentgated.log" "registry change feed connected" 10; then
		h_err "MTA ${UP[$m]}'s agentgated never connected its change feed"
		return 1
	fi
	SINK_PORT=${SINKP[$m]} sink_start "$H/$m" || return 1
	PF_PORT=${PORT[$m]} SINK_PORT=${SINKP[$m]} PF_MYHOSTNAME=${HOST[$m]} \
		pf_setup "$H/$m" "unix:$H/$m/run/milter.sock" || return 1
	pf_start "$H/$m"
}
for m in a b; do
	ag_must "MTA ${UP[$m]}: agentgated (${HOST[$m]}), smtp-sink 127.0.0.1:${SINKP[$m]}, postfix 127.0.0.1:${PORT[$m]}" \
		start_mta "$m"
done
ag_must "messages signed with agentgatectl sign (audience $AUDIENCE, shared by both MTAs)" \
	presign_wait first

# send_file MTA FILE: send FILE through MTA (XCLIENT LOGIN = the From identity); sets RC,
# REPLY, TR.
SENDS=0
send_file() {
	local m=$1 f=$2 id
	id=$(sed -n 's/^From: .*<\([a-z0-9-]*\)@.*$/\1/p' "$f" | head -n 1)
	SENDS=$((SENDS + 1))
	mkdir -p "$H/tr"
	TR=$H/tr/$SENDS-$m.txt
	AG_LAST_TR=$TR
	RC=0
	swaks_send "$TR" "${PORT[$m]}" --xclient "LOGIN=$id" --from "$id@$AG" \
		--to customer@example.com --data "$f" || RC=$?
	REPLY=$(swaks_last_reply "$TR") || true
	# a refusal names its event: it must be in this MTA's event log (checked in 6.)
	if id=$(ag_reply_event_id "$TR"); then ag_note_id "$id" "$H/$m/events.jsonl"; fi
}
refused_with() { # refused_with CODE: the last send got "550 5.7.1 agentgate: CODE: ..."
	[[ $RC != 0 && $REPLY == *"550 5.7.1 agentgate: $1:"* ]]
}

# loop_summary OUT...: per loop output, accepted files' subjects etc. (used for bookkeeping)
# loop_accepted_subjects OUT: subjects of the messages a send_loop run got accepted.
loop_accepted_subjects() {
	"$PY" - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    m = json.loads(line)
    if m["stage"] == "data" and m["code"] == 250:
        for l in open(m["file"], encoding="utf-8", errors="replace"):
            if l.startswith("Subject: "):
                print(l[len("Subject: "):].strip())
                break
PY
}

# ============================================================================
# 1. revocation across MTAs
# ============================================================================

# analyze_revocation OUT CLI_RETURN_NS REASON: one JSON object summarising the loop.
analyze_revocation() {
	"$PY" "$HERE/lib/revocation_loop.py" "$@"
}

declare -A FIGURES
# notifications MTA: agentgate_store_notifications_total of that MTA's daemon (GET /metrics):
# change notifications its change feed received.
notifications() {
	"$PY" - "${METRICS[$1]}" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=3).read().decode()
print(next((l.split()[1] for l in body.splitlines()
            if l.startswith("agentgate_store_notifications_total ")), "absent"))
PY
}

# revocation LABEL TRAFFIC_MTA CLI_MTA LOGIN LIST REASON CLI-ARGS...
revocation() {
	local label=$1 tm=$2 cm=$3 login=$4 list=$5 reason=$6
	shift 6
	local name=rev-$tm out stop pid deadline rc=0 cli t_call t_ret s
	out=$H/loop-$name.jsonl
	stop=$H/loop-$name.stop
	: >"$out"
	h_spawn "$H/loop-$name.log" "$PY" "$HERE/lib/send_loop.py" 127.0.0.1 "${PORT[$tm]}" \
		--from "$login@$AG" --to customer@example.com --xclient "LOGIN=$login" \
		--stop-file "$stop" --out "$out" --files "$list" --interval "$REVOKE_INTERVAL"
	pid=$H_LAST_PID
	deadline=$((SECONDS + 15))
	while (($(wc -l <"$out") < 5)) && h_alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.02
	done
	if (($(wc -l <"$out") < 5)) || [[ $(jq -s '[.[] | select(.code != 250)] | length' "$out") != 0 ]]; then
		touch "$stop"
		wait "$pid" 2>/dev/null || true
		h_untrack "$pid"
		loop_accepted_subjects "$out" >>"$H/expected-$tm.list"
		ag_fail "$label: steady state through MTA ${UP[$tm]} before the CLI (5 accepted messages)" \
			"$(wc -l <"$out") messages; not accepted: $(jq -c 'select(.code != 250) | [.code, .text]' "$out" | head -n 3 | tr '\n' ' ') $(tail -n 3 "$H/loop-$name.log")"
		return 0
	fi
	local notes_before notes_after
	notes_before=$(notifications "$tm" 2>&1) || notes_before=unreachable
	t_call=$EPOCHREALTIME
	cli=$(ctl "$cm" "$@" 2>&1) || rc=$?
	t_ret=$EPOCHREALTIME
	sleep "$LOOP_TAIL"
	touch "$stop"
	wait "$pid" 2>/dev/null || true
	h_untrack "$pid"
	loop_accepted_subjects "$out" >>"$H/expected-$tm.list"
	# With PostgreSQL the traffic MTA can only have learned it from the store's change feed
	# (its poll is 5 s): its notification counter moved.
	if [[ $AG_STORE == postgresql ]]; then
		notes_after=$(notifications "$tm" 2>&1) || notes_after=unreachable
		if [[ $notes_before =~ ^[0-9]+$ && $notes_after =~ ^[0-9]+$ ]] && ((notes_after > notes_before)); then
			ag_pass "$label: MTA ${UP[$tm]} learned it through the change feed (notifications $notes_before -> $notes_after)"
		else
			ag_fail "$label: MTA ${UP[$tm]} learned it through the change feed" \
				"agentgate_store_notifications_total $notes_before -> $notes_after"
		fi
	fi
	local ret_ns=${t_ret/./}000 cli_ms
	cli_ms=$(((${t_ret/./} - ${t_call/./}) / 1000))
	if ((rc == 0)) && [[ $cli != *"not notified"* ]]; then
		ag_pass "$label: agentgatectl ${*:1:3} with MTA ${UP[$cm]}'s config exits 0 and notified MTA ${UP[$cm]}'s daemon only (${cli_ms} ms)"
	else
		ag_fail "$label: agentgatectl ${*:1:3} with MTA ${UP[$cm]}'s config exits 0" "exit $rc after ${cli_ms} ms: $cli"
	fi
	if ! s=$(analyze_revocation "$out" "$ret_ns" "$reason"); then
		ag_fail "$label: analysis" "could not analyze $out"
		return 0
	fi
	local first
	first=$(jq -r '.first_reject_ms // "none"' <<<"$s")
	printf 'REVOCATION %s: cli_return->first_reject_start = %s ms (answered at %s ms); accepted after return: %s' \
		"$label" "$first" "$(jq -r '.first_reject_end_ms // "none"' <<<"$s")" "$(jq -r .accepted_after <<<"$s")"
	printf ' (cli ran %s ms; last accepted session started at %s ms; %s messages, %s before / %s after return, one every %s ms)\n' \
		"$cli_ms" "$(jq -r '.last_accept_ms // "none"' <<<"$s")" "$(jq -r .total <<<"$s")" \
		"$(jq -r .before <<<"$s")" "$(jq -r .after <<<"$s")" "$(jq -r .period_ms <<<"$s")"
	FIGURES[$label]="first $reason $first ms after the CLI returned; accepted after return $(jq -r .accepted_after <<<"$s")"
	if [[ $(jq -r '.errors | length' <<<"$s") != 0 || $(jq -r '.not_accepted_before | length' <<<"$s") != 0 ]]; then
		ag_fail "$label: every session got an SMTP reply, all accepted before the CLI returned" \
			"$(jq -c '[.errors[:3], .not_accepted_before]' <<<"$s")"
	fi
	if (($(jq -r .after <<<"$s") < 3)); then
		ag_fail "$label: the loop went on after the CLI returned" \
			"only $(jq -r .after <<<"$s") sessions started after the return (signed messages used up? see $H/loop-$name.log)"
		return 0
	fi
	if [[ $first == none ]]; then
		ag_fail "$label: first $reason on MTA ${UP[$tm]} within $LATENCY_MS ms of the CLI's return on MTA ${UP[$cm]}" \
			"no session was refused with $reason; after the return: $(jq -c .other_after <<<"$s")"
	elif ! jq -e --argjson l "$LATENCY_MS" '.first_reject_ms < $l' >/dev/null <<<"$s"; then
		ag_fail "$label: first $reason on MTA ${UP[$tm]} within $LATENCY_MS ms of the CLI's return on MTA ${UP[$cm]}" \
			"first reject at $first ms"
	else
		ag_pass "$label: first $reason on MTA ${UP[$tm]} $first ms after the CLI returned on MTA ${UP[$cm]} (< $LATENCY_MS ms)"
	fi
	if jq -e '.accepted_after_1s == 0 and .accepted_after_first_reject == 0' >/dev/null <<<"$s"; then
		ag_pass "$label: nothing accepted on MTA ${UP[$tm]} after the first refusal nor after +1 s (accepted after return: $(jq -r .accepted_after <<<"$s"))"
	else
		ag_fail "$label: nothing accepted on MTA ${UP[$tm]} after the first refusal nor after +1 s" \
			"accepted after the first reject: $(jq -r .accepted_after_first_reject <<<"$s"), started after +1 s and accepted: $(jq -r .accepted_after_1s <<<"$s")"
	fi
	if [[ $(jq -r '.other_after | length' <<<"$s") != 0 ]]; then
		ag_fail "$label: sessions after the return accepted or refused with $reason only" "$(jq -c .other_after <<<"$s")"
	fi
}

section "1. revocation across MTAs"
revocation "identity revoke (CLI on A, traffic on B)" b a rv-a-bot "$H/signed/rva.list" identity_revoked \
	identity revoke rv-a-bot --actor soc-lead --reason "e2e: revocation across MTAs"
revocation "identity revoke (CLI on B, traffic on A)" a b rv-b-bot "$H/signed/rvb.list" identity_revoked \
	identity revoke rv-b-bot --actor soc-lead --reason "e2e: revocation across MTAs"
# the outage loops' messages are signed while checks 2-4 run (not during the timing above)
[[ $AG_STORE == postgresql ]] && presign_bg outage outage:pga:"$PG_SIGNED" outage:pgb:"$PG_SIGNED"

# ============================================================================
# 2. shared quota
# ============================================================================
section "2. one grant quota shared by both MTAs"
check_quota() {
	local i m acc=0 exh=0 other=() used
	declare -A per=([a]=0 [b]=0)
	for ((i = 1; i <= 10; i++)); do
		m=a
		((i % 2 == 0)) && m=b
		send_file "$m" "$H/signed/quota/m$i.eml"
		if ((RC == 0)); then
			acc=$((acc + 1))
			per[$m]=$((per[$m] + 1))
			expect_delivery "$m" "so-quota-$i"
		elif refused_with grant_exhausted; then
			exh=$((exh + 1))
		else
			other+=("#$i on ${UP[$m]}: rc=$RC $REPLY")
		fi
	done
	if ((acc == 5 && exh == 5 && per[a] > 0 && per[b] > 0 && ${#other[@]} == 0)); then
		ag_pass "--max-messages 5, 10 messages alternating A, B: 5 accepted (A ${per[a]}, B ${per[b]}), 5 refused grant_exhausted"
	else
		ag_fail "--max-messages 5, 10 messages alternating A, B: 5 accepted on both MTAs, 5 refused grant_exhausted" \
			"accepted $acc (A ${per[a]}, B ${per[b]}), grant_exhausted $exh, other: ${other[*]:-none}"
	fi
	used=$(ctl b --json grant show "${GRANT[quota]}" | jq -r .messages_used || true)
	if [[ $used == 5 ]]; then
		ag_pass "the grant counts 5 messages used (read through MTA B's config)"
	else
		ag_fail "the grant counts 5 messages used" "messages_used = $used"
	fi
}
check_quota

# ============================================================================
# 3. replay across MTAs
# ============================================================================
section "3. replay across MTAs"
check_replay() {
	local m=$H/signed/replay/m1.eml used
	send_file a "$m"
	if ((RC == 0)); then
		ag_pass "a signed message is accepted through MTA A"
		expect_delivery a so-replay-1
	else
		ag_fail "a signed message is accepted through MTA A" "rc=$RC $REPLY"
	fi
	# the same proof on another message: one unsigned header more (as proof_test.sh does; a
	# changed body, signed header or recipient is refused proof_binding_mismatch first)
	sed 's/^Subject: so-replay-1/X-Extra: not signed\r\nSubject: so-replay-1/' "$m" >"$m.replay"
	send_file b "$m.replay"
	if refused_with proof_replayed; then
		ag_pass "its proof on a different message through MTA B is refused proof_replayed"
	else
		ag_fail "its proof on a different message through MTA B is refused proof_replayed" "rc=$RC $REPLY"
		((RC == 0)) && expect_delivery b so-replay-1
	fi
	send_file b "$m"
	if ((RC == 0)); then
		ag_pass "the byte-identical message through MTA B is an identical retry: accepted (SPEC 4)"
		expect_delivery b so-replay-1
	else
		ag_fail "the byte-identical message through MTA B is an identical retry: accepted (SPEC 4)" "rc=$RC $REPLY"
	fi
	used=$(ctl a --json grant show "${GRANT[replay]}" | jq -r .messages_used || true)
	if [[ $used == 1 ]]; then
		ag_pass "the grant counts the message and its retry on the other MTA once (messages_used 1)"
	else
		ag_fail "the grant counts the message and its retry on the other MTA once" "messages_used = $used"
	fi
}
check_replay

# ============================================================================
# 4. one quarantine view
# ============================================================================
section "4. one quarantine view"
declare -A QID_OF
# untrusted MTA SUBJECT: mallory mails intake-bot through MTA; QID_OF[SUBJECT] = queue id.
untrusted() {
	local m=$1 subj=$2 t
	SENDS=$((SENDS + 1))
	t=$H/tr/$SENDS-$m.txt
	AG_LAST_TR=$t
	RC=0
	swaks_send "$t" "${PORT[$m]}" --from mallory@untrusted.test --to "intake-bot@$AG" \
		--header "Subject: $subj" --body "Please wire the funds." || RC=$?
	QID_OF[$subj]=$(swaks_qid "$t" 2>/dev/null || true)
	REPLY=$(swaks_last_reply "$t") || true
}
held_in() { # held_in MTA QID
	pf_queue_id_in_hold "$H/$1" "$2"
}
check_quarantine() {
	local qa qb qb2 out m rc want got
	untrusted a so-q-a && untrusted b so-q-b && untrusted b so-q-b2
	qa=${QID_OF[so-q-a]} qb=${QID_OF[so-q-b]} qb2=${QID_OF[so-q-b2]}
	if [[ -n $qa && -n $qb && -n $qb2 ]] && held_in a "$qa" && held_in b "$qb" && held_in b "$qb2"; then
		ag_pass "untrusted inbound mail is quarantined on A ($qa) and on B ($qb, $qb2), each in its own hold queue"
	else
		ag_fail "untrusted inbound mail is quarantined on A and on B" \
			"queue ids A '$qa' B '$qb' '$qb2'; last reply $REPLY; held A: $(pf_hold_count "$H/a"), B: $(pf_hold_count "$H/b")"
		return 0
	fi
	want=$(printf '%s\n' "mta-a.test $qa" "mta-b.test $qb" "mta-b.test $qb2" | sort)
	for m in a b; do
		out=$(ctl "$m" --json quarantine list 2>&1) || true
		got=$(jq -r '.[] | select(.status == "held" and .reasons == ["sender_not_trusted"]
			and .identity == "intake-bot") | "\(.host) \(.queue_id)"' <<<"$out" 2>/dev/null | sort || true)
		if [[ $got == "$want" ]]; then
			ag_pass "quarantine list --json with MTA ${UP[$m]}'s config shows all three, each with its host"
		else
			ag_fail "quarantine list --json with MTA ${UP[$m]}'s config shows all three, each with its host" \
				"want: $(tr '\n' ';' <<<"$want") got: $(tr '\n' ';' <<<"$got") ($out)"
		fi
	done
	# the index's event ids are quarantine events in the event log of the MTA that held it
	out=$(ctl a --json quarantine list) || true
	local ev_a ev_b
	ev_a=$(jq -r --arg q "$qa" 'map(select(.queue_id == $q))[0].event_id' <<<"$out") || true
	ev_b=$(jq -r --arg q "$qb" 'map(select(.queue_id == $q))[0].event_id' <<<"$out") || true
	if ag_event_check "$ev_a" '.event.action == "quarantine" and .observer.hostname == "mta-a.test"' "$H/a/events.jsonl" &&
		ag_event_check "$ev_b" '.event.action == "quarantine" and .observer.hostname == "mta-b.test"' "$H/b/events.jsonl" &&
		[[ -z $(ag_event "$ev_b" "$H/a/events.jsonl") ]]; then
		ag_pass "each row's event is a quarantine event in its own MTA's log, observer.hostname naming it"
	else
		ag_fail "each row's event is a quarantine event in its own MTA's log, observer.hostname naming it" \
			"A: $(ag_event "$ev_a" "$H/a/events.jsonl") B: $(ag_event "$ev_b" "$H/b/events.jsonl")"
	fi
	# B's message from A's CLI: the queue is on B (docs/soc.md "Several MTAs")
	rc=0
	out=$(ctl a quarantine release "$qb" --actor soc-lead --justification "from the wrong MTA" 2>&1) || rc=$?
	if [[ $rc == 1 && $out == *"held on mta-b.test, not on this host (mta-a.test)"* ]] && held_in b "$qb" &&
		[[ $(ctl b --json quarantine list --status held | jq --arg q "$qb" 'map(select(.queue_id == $q)) | length') == 1 ]]; then
		ag_pass "releasing B's message with A's config is refused (rc 1), naming B; it stays held on B"
	else
		ag_fail "releasing B's message with A's config is refused (rc 1), naming B; it stays held on B" "rc=$rc $out"
	fi
	rc=0
	out=$(ctl b quarantine release "$qb" --actor soc-lead --justification "verified with the partner" 2>&1) || rc=$?
	if ((rc == 0)) && SINK_WAIT=10 sink_find "$H/b" "Subject: so-q-b" >/dev/null &&
		! grep -rqF "Subject: so-q-b" "$H/a/sink" 2>/dev/null && ! held_in b "$qb"; then
		ag_pass "released with B's config, B's message leaves B's hold queue and reaches B's sink"
		expect_delivery b so-q-b
	else
		ag_fail "released with B's config, B's message leaves B's hold queue and reaches B's sink" "rc=$rc $out"
		grep -rqF "Subject: so-q-b" "$H/b/sink" 2>/dev/null && expect_delivery b so-q-b
	fi
	out=$(ctl a --json quarantine list --status released) || true
	if jq -e --arg q "$qb" 'length == 1 and .[0].queue_id == $q and .[0].host == "mta-b.test"
		and .[0].action.by == "soc-lead"' <<<"$out" >/dev/null &&
		jq -e -s --arg q "$qb" 'any(.[]; .event.action == "release" and .email.local_id == $q)' "$H/b/events.jsonl" >/dev/null; then
		ag_pass "A's CLI sees the release (host mta-b.test, by soc-lead); the release event is in B's log"
	else
		ag_fail "A's CLI sees the release (host mta-b.test, by soc-lead); the release event is in B's log" "$out"
	fi
	rc=0
	out=$(ctl b quarantine delete "$qb2" --actor soc-lead --justification "phishing" 2>&1) || rc=$?
	if ((rc == 0)) && ! held_in b "$qb2" &&
		[[ $(ctl a --json quarantine list --status deleted | jq -r '.[0].host') == mta-b.test ]]; then
		ag_pass "deleted with B's config, B's other message is gone from B's queue, deleted in the shared index"
	else
		ag_fail "deleted with B's config, B's other message is gone from B's queue" "rc=$rc $out"
	fi
}
check_quarantine

# ============================================================================
# 5. PostgreSQL restart mid-run
# ============================================================================
# analyze_outage OUT T_STOP_CALL T_STOP_RET T_START_CALL T_START_RET (ns)
analyze_outage() {
	"$PY" - "$@" <<'PY'
import json, re, sys
path = sys.argv[1]
stop_call, stop_ret, start_call, start_ret = map(int, sys.argv[2:6])
msgs = sorted((json.loads(l) for l in open(path) if l.strip()), key=lambda m: m["start_ns"])
acc = lambda m: m["stage"] == "data" and m["code"] == 250
outage = [m for m in msgs if m["start_ns"] >= stop_ret and m["end_ns"] <= start_call]
rec = next((m for m in msgs if acc(m) and m["start_ns"] >= start_ret), None)
texts = {}
for m in msgs:
    if not acc(m):
        k = f'{m["code"]} ' + re.sub(r" \(event [0-9a-f]+\)$", "", m["text"])[:80]
        texts[k] = texts.get(k, 0) + 1
print(json.dumps({
    "total": len(msgs),
    "accepted": sum(map(acc, msgs)),
    "outage": len(outage),
    "outage_not_4xx": sorted({f'{m["stage"]} {m["code"]} {m["text"][:90]}' for m in outage
                              if not 400 <= m["code"] < 500}),
    "outage_tempfailed_files": [m["file"] for m in outage if 400 <= m["code"] < 500],
    "rejected": sorted({f'{m["stage"]} {m["code"]} {m["text"][:90]}' for m in msgs if 500 <= m["code"] < 600}),
    "errors": [m["text"] for m in msgs if m["code"] == 0],
    "recovery_ms": round((rec["end_ns"] - start_ret) / 1e6, 1) if rec else None,
    "replies": texts,
}))
PY
}

# accepted_since OUT NS: how many messages of a send_loop output that started at or after NS
# (wall clock, ns) were accepted (0 while the file is being written and cannot be read).
accepted_since() {
	jq -n --argjson t "$2" '[inputs | select(.code == 250 and .start_ns >= $t)] | length' "$1" 2>/dev/null || echo 0
}

check_pg_restart() {
	local m out stop pid deadline n t_stop_call t_stop_ret t_start_call t_start_ret s rec ok f
	declare -A LPID
	ag_must "outage loops: $PG_SIGNED messages per MTA signed under one grant" presign_wait outage
	stop=$H/loop-pg.stop
	for m in a b; do
		: >"$H/loop-pg-$m.jsonl"
		h_spawn "$H/loop-pg-$m.log" "$PY" "$HERE/lib/send_loop.py" 127.0.0.1 "${PORT[$m]}" \
			--from "work-bot@$AG" --to customer@example.com --xclient LOGIN=work-bot \
			--stop-file "$stop" --out "$H/loop-pg-$m.jsonl" --files "$H/signed/pg$m.list" \
			--interval "$PG_INTERVAL"
		LPID[$m]=$H_LAST_PID
	done
	# steady state: 3 accepted on each
	deadline=$((SECONDS + 15))
	for m in a b; do
		until (($(accepted_since "$H/loop-pg-$m.jsonl" 0) >= 3)) || ((SECONDS >= deadline)); do
			sleep 0.05
		done
	done
	t_stop_call=$EPOCHREALTIME
	pg_cluster stop || ag_fail "PostgreSQL restart: tests/pg/cluster.sh ctl stop" "see above"
	t_stop_ret=$EPOCHREALTIME
	sleep "$PG_OUTAGE"
	t_start_call=$EPOCHREALTIME
	pg_cluster start || ag_fail "PostgreSQL restart: tests/pg/cluster.sh ctl start" "see above"
	t_start_ret=$EPOCHREALTIME
	local start_ns=${t_start_ret/./}000
	deadline=$((SECONDS + PG_RECOVERY_MS / 1000 + 5))
	for m in a b; do
		until (($(accepted_since "$H/loop-pg-$m.jsonl" "$start_ns") >= 1)) || ((SECONDS >= deadline)) ||
			! h_alive "${LPID[$m]}"; do
			sleep 0.05
		done
	done
	sleep 0.3
	touch "$stop"
	for m in a b; do
		wait "${LPID[$m]}" 2>/dev/null || true
		h_untrack "${LPID[$m]}"
		loop_accepted_subjects "$H/loop-pg-$m.jsonl" >>"$H/expected-$m.list"
	done
	echo "INFO  PostgreSQL: stop took $(((${t_stop_ret/./} - ${t_stop_call/./}) / 1000)) ms, down $(((${t_start_call/./} - ${t_stop_ret/./}) / 1000)) ms, start took $(((${t_start_ret/./} - ${t_start_call/./}) / 1000)) ms"
	for m in a b; do
		if ! s=$(analyze_outage "$H/loop-pg-$m.jsonl" "${t_stop_call/./}000" "${t_stop_ret/./}000" \
			"${t_start_call/./}000" "$start_ns"); then
			ag_fail "PostgreSQL restart: analysis of MTA ${UP[$m]}'s loop" "could not analyze $H/loop-pg-$m.jsonl"
			continue
		fi
		echo "OUTAGE MTA ${UP[$m]}: $(jq -c '{total, accepted, outage, recovery_ms, replies}' <<<"$s")"
		if (($(jq -r .outage <<<"$s") > 0)) && [[ $(jq -r '.outage_not_4xx | length' <<<"$s") == 0 ]]; then
			ag_pass "PostgreSQL down: all $(jq -r .outage <<<"$s") messages through MTA ${UP[$m]} during the outage tempfailed (4xx)"
		else
			ag_fail "PostgreSQL down: every message through MTA ${UP[$m]} during the outage tempfailed (4xx)" \
				"$(jq -r .outage <<<"$s") during the outage; not 4xx: $(jq -c .outage_not_4xx <<<"$s")"
		fi
		if [[ $(jq -r '(.rejected + .errors) | length' <<<"$s") == 0 ]]; then
			ag_pass "PostgreSQL restart: no message through MTA ${UP[$m]} rejected (5xx) or left without a reply"
		else
			ag_fail "PostgreSQL restart: no message through MTA ${UP[$m]} rejected or left without a reply" \
				"$(jq -c '[.rejected, .errors[:3]]' <<<"$s")"
		fi
		rec=$(jq -r '.recovery_ms // "none"' <<<"$s")
		FIGURES["recovery $m"]=$rec
		if [[ $rec != none ]] && jq -e --argjson b "$PG_RECOVERY_MS" '.recovery_ms <= $b' >/dev/null <<<"$s"; then
			ag_pass "after PostgreSQL's restart MTA ${UP[$m]} accepts governed mail again ($rec ms after pg_ctl start returned; bound $PG_RECOVERY_MS ms)"
		else
			ag_fail "after PostgreSQL's restart MTA ${UP[$m]} accepts governed mail again within $PG_RECOVERY_MS ms" \
				"first accept after the restart: $rec ms; replies: $(jq -c .replies <<<"$s")"
		fi
		if h_alive "${AGPID[$m]}"; then
			ag_pass "MTA ${UP[$m]}'s agentgated survived the outage"
		else
			ag_fail "MTA ${UP[$m]}'s agentgated survived the outage" "$(tail -n 5 "$H/$m/agentgated.log")"
		fi
		f=$(jq -r '.outage_tempfailed_files[0] // empty' <<<"$s")
		if [[ -z $f ]]; then
			ag_fail "a message tempfailed on MTA ${UP[$m]} during the outage, resent unchanged, is accepted" "no message was tempfailed"
			continue
		fi
		send_file "$m" "$f"
		if ((RC == 0)); then
			ag_pass "a message tempfailed on MTA ${UP[$m]} during the outage, resent unchanged, is accepted ($(subject_of "$f"))"
			expect_delivery "$m" "$(subject_of "$f")"
		else
			ag_fail "a message tempfailed on MTA ${UP[$m]} during the outage, resent unchanged, is accepted" "rc=$RC $REPLY"
		fi
	done
}

check_pg_role() {
	local users out rc err sql
	users=$(pg_psql "$URL_CLI" -c "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'agentgate' AND pid <> pg_backend_pid() ORDER BY 1" 2>&1 | tr '\n' ' ' || true)
	if [[ $users == "agentgate_milter " ]]; then
		ag_pass "the daemons' store connections are the restricted role agentgate_milter"
	else
		ag_fail "the daemons' store connections are the restricted role agentgate_milter" "connected users: $users"
	fi
	out=""
	for sql in "UPDATE identities SET status = 'active' WHERE id = 'rv-a-bot'" \
		"UPDATE grants SET revoked = 0" "DELETE FROM audit" \
		"INSERT INTO meta (key, value) VALUES ('x', 'y')"; do
		rc=0
		err=$(pg_psql "$URL_MILTER" -c "$sql" 2>&1) || rc=$?
		((rc != 0)) && [[ $err == *"permission denied"* ]] || out+="'$sql': exit $rc $err; "
	done
	if [[ -z $out ]]; then
		ag_pass "agentgate_milter cannot change identities, grant state, the audit chain or meta (lib/pg_milter_role.sql)"
	else
		ag_fail "agentgate_milter cannot change identities, grant state, the audit chain or meta" "$out"
	fi
}

if [[ $AG_STORE == postgresql ]]; then
	section "5. PostgreSQL restart mid-run"
	check_pg_role
	check_pg_restart
else
	NOT_RUN+=("5. PostgreSQL restart mid-run (tempfail during the outage, recovery time, resend of a tempfailed message): needs AG_STORE=postgresql under tests/pg/cluster.sh; this run's store is $URL_CLI")
	NOT_RUN+=("the daemons connect as the restricted role agentgate_milter (lib/pg_milter_role.sql): PostgreSQL only")
fi

# ============================================================================
# 6. chains and sinks
# ============================================================================
section "6. audit and event chains, proofs, sinks"
# every queue but hold drained (delivered to the sinks) before the sinks are compared
drained() {
	local m d n
	for m in a b; do
		n=0
		for d in maildrop incoming active deferred; do
			n=$((n + $(find "$H/$m/pf/spool/$d" -type f 2>/dev/null | wc -l)))
		done
		((n == 0)) || return 1
	done
}
deadline=$((SECONDS + 15))
until drained || ((SECONDS >= deadline)); do sleep 0.1; done
sleep 0.3 # smtp-sink writes its dump after the reply

if out=$(ctl a audit verify 2>&1); then
	ag_pass "the audit chain of the shared store verifies ($out)"
else
	ag_fail "the audit chain of the shared store verifies" "$out"
fi
for m in a b; do
	AG_CONF=$(conf "$m")
	ag_verify_chain "MTA ${UP[$m]}'s event chain verifies (agentgatectl events verify)" "$H/$m/events.jsonl"
	if jq -e -s --arg h "${HOST[$m]}" 'length > 0 and all(.[]; .observer.hostname == $h)' "$H/$m/events.jsonl" >/dev/null; then
		ag_pass "every event in MTA ${UP[$m]}'s log names ${HOST[$m]} (observer.hostname)"
	else
		ag_fail "every event in MTA ${UP[$m]}'s log names ${HOST[$m]}" \
			"$(jq -r '.observer.hostname' "$H/$m/events.jsonl" | sort | uniq -c | tr '\n' ' ')"
	fi
done
AG_CONF=$(conf a)

# every accepted proof (loops and single sends) is recorded as spent in the store
check_proofs_recorded() {
	local spent missing
	spent=$H/spent-jti.txt
	if ! store_sql "SELECT jti FROM proof_replay" >"$spent" 2>"$H/spent-jti.err"; then
		ag_fail "every accepted message's proof is recorded in the store" "$(cat "$H/spent-jti.err")"
		return 0
	fi
	missing=$("$PY" - "$spent" "$H/signed" "$H"/expected-a.list "$H"/expected-b.list 2>"$H/spent-check.err" <<'PY'
import base64, glob, json, os, sys
spent = set(l.strip() for l in open(sys.argv[1]) if l.strip())
by_subject = {}
for f in glob.glob(os.path.join(sys.argv[2], "*", "m*.eml")):
    subj = jti = None
    for line in open(f, encoding="utf-8", errors="replace"):
        line = line.rstrip("\r\n")
        if line.startswith("Agent-Proof: ") and jti is None:
            payload = line.split(" ", 1)[1].split(".")[1]
            jti = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
        elif line.startswith("Subject: ") and subj is None:
            subj = line[len("Subject: "):]
        elif line == "":
            break
    by_subject[subj] = jti
n = 0
for lst in sys.argv[3:]:
    for s in open(lst):
        s = s.strip()
        if s in by_subject:
            n += 1
            if by_subject[s] not in spent:
                print(f"{s} (jti {by_subject[s]})")
print(f"checked {n}", file=sys.stderr)
if n == 0:
    print("no accepted signed message was found to check")
PY
	)
	if [[ -z $missing ]]; then
		ag_pass "every accepted signed message's proof is recorded as spent in the store ($(cat "$H/spent-check.err"))"
	else
		ag_fail "every accepted signed message's proof is recorded as spent in the store" "not recorded: $(head -n 5 <<<"$missing" | tr '\n' ' ')"
	fi
}
check_proofs_recorded

# each sink holds exactly the subjects its MTA accepted (and released), each as often
check_sinks() {
	local m diff
	for m in a b; do
		diff=$("$PY" - "$H/expected-$m.list" "$H/$m/sink" 2>"$H/sink-$m.count" <<'PY'
import collections, glob, os, sys
want = collections.Counter(l.strip() for l in open(sys.argv[1]) if l.strip())
got = collections.Counter()
for f in glob.glob(os.path.join(sys.argv[2], "*")):
    with open(f, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line.startswith("Subject: "):
                got[line[len("Subject: "):]] += 1
                break
            if line == "":
                got["<no subject: " + os.path.basename(f) + ">"] += 1
                break
lost = want - got
extra = got - want
print(f"{sum(want.values())} expected, {sum(got.values())} delivered", file=sys.stderr)
if lost:
    print("never delivered: " + " ".join(f"{k}x{v}" for k, v in sorted(lost.items())[:10]))
if extra:
    print("delivered but not accepted (or twice): " + " ".join(f"{k}x{v}" for k, v in sorted(extra.items())[:10]))
PY
		)
		if [[ -z $diff ]]; then
			ag_pass "MTA ${UP[$m]}'s sink received exactly the messages MTA ${UP[$m]} accepted or released, once each ($(cat "$H/sink-$m.count"))"
		else
			ag_fail "MTA ${UP[$m]}'s sink received exactly the messages MTA ${UP[$m]} accepted or released" \
				"$(cat "$H/sink-$m.count"); $diff"
		fi
	done
}
check_sinks

# the AgentGate-Result of every delivered message names the gateway that decided
check_result_headers() {
	local m n wrong
	for m in a b; do
		n=$(grep -l '^AgentGate-Result:' "$H/$m/sink"/* 2>/dev/null | wc -l || true)
		wrong=$(grep -h '^AgentGate-Result:' "$H/$m/sink"/* 2>/dev/null |
			grep -v "^AgentGate-Result: ${HOST[$m]}; verdict=" | head -n 3 || true)
		if ((n > 0)) && [[ -z $wrong ]]; then
			ag_pass "the AgentGate-Result of all $n messages in MTA ${UP[$m]}'s sink names gateway ${HOST[$m]}"
		else
			ag_fail "the AgentGate-Result of every message in MTA ${UP[$m]}'s sink names gateway ${HOST[$m]}" \
				"$n with the header; other: $wrong"
		fi
	done
}
check_result_headers

echo "summary:"
for k in "identity revoke (CLI on A, traffic on B)" "identity revoke (CLI on B, traffic on A)"; do
	printf '  %-42s %s\n' "$k" "${FIGURES[$k]:-not measured}"
done
if [[ $AG_STORE == postgresql ]]; then
	printf '  %-42s A %s ms, B %s ms\n' "recovery after PostgreSQL's restart" \
		"${FIGURES[recovery a]:-none}" "${FIGURES[recovery b]:-none}"
fi
for k in "${NOT_RUN[@]}"; do
	echo "NOT RUN  $k"
done

AG_DONE=1
