#!/usr/bin/env bash
# Protocol-level tests of agentgated (SPEC sections 3, 5 and 6): the real daemon, driven over its
# milter socket by miltertest (OpenDKIM's MTA simulator, Lua scripts), without any MTA.
#
#   tests/milter/run.sh BIN_DIR        (BIN_DIR = the CMake build dir holding milter/agentgated
#                                       and cli/agentgatectl; both binaries may also sit in BIN_DIR)
#
# Builds a throwaway config and SQLite registry through agentgatectl's approval flow, starts
# agentgated once in the foreground, runs every tests/milter/*.lua script against it, then checks
# the decisions each script announced (lines "EXPECT key=value ...") against events.jsonl with jq.
# Prints PASS/FAIL per script and per suite-level check, ends with "N passed, M failed", exits
# non-zero when anything failed. Needs bash, miltertest, jq, sqlite3; root (the registry records
# actions by several people, which only root may do).

# sed prefixes multi-line output for display (SC2001 is about single substitutions):
# shellcheck disable=SC2001
set -euo pipefail

if [[ $# -ne 1 || ! -d "$1" ]]; then
  echo "usage: $0 BIN_DIR" >&2
  exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
find_bin() { # find_bin NAME SUBDIR
  local c
  for c in "$1/$3/$2" "$1/$2"; do [[ -x $c ]] && { realpath "$c"; return 0; }; done
  echo "$0: $2 not found under $1" >&2
  exit 2
}
DAEMON=$(find_bin "$1" agentgated milter)
CTL=$(find_bin "$1" agentgatectl cli)
for tool in miltertest jq sqlite3; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 2; }
done

# agentgatectl lets only root record actions by other people (--actor). A non-root user reruns
# the suite as root of a private user namespace where the kernel allows that; otherwise: skip.
if [[ $(id -u) != 0 ]]; then
  if [[ -z ${AGENTGATE_MT_USERNS:-} ]] && unshare --user --map-root-user true 2>/dev/null; then
    AGENTGATE_MT_USERNS=1 exec unshare --user --map-root-user "$BASH" "$(realpath "$0")" "$@"
  fi
  echo "SKIP: the milter tests need root (or unprivileged user namespaces)"
  echo "0 passed, 0 failed"
  exit 77
fi

# tmpfs when there is one: the store fsyncs on every write.
if [[ -z ${TMPDIR:-} && -d /dev/shm && -w /dev/shm ]]; then TMPBASE=/dev/shm; else TMPBASE=${TMPDIR:-/tmp}; fi
TMP=$(mktemp -d "$TMPBASE/agentgate-mt.XXXXXX")
DPID=""
stop_daemon() {
  [[ -n $DPID ]] || return 0
  kill -TERM "$DPID" 2>/dev/null || true
  local i
  for ((i = 0; i < 150; i++)); do # libmilter takes ~5 s to wind down; wait up to 15 s
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$DPID" 2>/dev/null; then
    echo "agentgated (pid $DPID) did not stop within 15 s; killing it" >&2
    kill -KILL "$DPID" 2>/dev/null || true
  fi
  wait "$DPID" 2>/dev/null || true
  DPID=""
}
cleanup() {
  stop_daemon
  if [[ -n ${AGENTGATE_MT_KEEP:-} ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SOCK="$TMP/agentgated.sock"
CFG="$TMP/agentgate.toml"
DB="$TMP/registry.db"
EVENTS="$TMP/events.jsonl"
LOG="$TMP/agentgated.log"
cat >"$CFG" <<EOF
[milter]
socket = "unix:$SOCK"
engine = "${AGENTGATE_MT_ENGINE:-libmilter}"
[control]
socket = "$TMP/control.sock"
metrics = "127.0.0.1:${AGENTGATE_MT_METRICS_PORT:-3691}"
[store]
url = "sqlite://$DB"
poll_interval = "100ms"
max_staleness = "3s"     # store_outage.lua waits this long
[policy]
mode = "enforce"
agent_domains = ["agents.example.com"]
audience = "mt.test"
gateway = "mt.test"
require_proof = false
[governance]
ig_reviewers = ["alice"]
security_officers = ["soc-lead"]
[events]
path = "$EVENTS"
EOF

ctl() { "$CTL" -c "$CFG" "$@"; }
ctlq() { # quiet unless it fails
  local out
  if ! out=$(ctl "$@" 2>&1); then
    echo "registry setup failed: agentgatectl $*" >&2
    echo "$out" >&2
    exit 3
  fi
}
# request ID ACTIONS [more request flags]: dave requests, bob owns the business, carol the system.
request() {
  local id=$1 actions=$2
  shift 2
  ctlq identity request "$id" --inbox "$id@agents.example.com" --purpose "milter test $id" \
    --business-owner bob --system-owner carol --actions "$actions" --expires 30d \
    --revocation-trigger "end of the test" --actor dave "$@"
}
approve_all() { # owner + IG (+ system owner when more than receive is asked)
  ctlq identity approve "$1" --role owner --actor bob
  ctlq identity approve "$1" --role ig --actor alice
  [[ ${2:-} == receive-only ]] || ctlq identity approve "$1" --role system --actor carol
}

# ---------------------------------------------------------------------------------------------
# The registry (every identity's inbox is ID@agents.example.com)
#   bot1       active; receive,reply,send; sasl:bot1; send/reply to @example.com; trusts @example.com
#   inbox1     active receive-only inbox; trusts @partner.example
#   sendonly1  active; send only (no receive, no reply); sasl:sendonly1; send to @example.com
#   pending1   requested, never approved
#   susp1      active, then suspended
#   rev1       active, then revoked
#   exp1       active, expires_at moved into the past in the store
#   rejected1  requested, then rejected by its owner
#   victim1    active like bot1; suspended by session_reset.lua in the middle of a transaction
#   certbot1   active; send; bound to a TLS client certificate subject instead of a SASL login
ctlq init
request bot1 receive,reply,send --principal sasl:bot1 --target send=@example.com \
  --target reply=@example.com --accept-from @example.com --grant-issuer orchestrator
approve_all bot1
request inbox1 receive --accept-from @partner.example
approve_all inbox1 receive-only
request sendonly1 send --principal sasl:sendonly1 --target send=@example.com
approve_all sendonly1
request pending1 send --principal sasl:pending1 --target send=@example.com
for id in susp1 rev1 exp1; do
  request "$id" receive,send --principal "sasl:$id" --target send=@example.com --accept-from @example.com
  approve_all "$id"
done
ctlq identity suspend susp1 --actor soc-lead --reason "milter test: suspended"
ctlq identity revoke rev1 --actor soc-lead --reason "milter test: revoked"
request rejected1 send --principal sasl:rejected1 --target send=@example.com
ctlq identity reject rejected1 --actor bob --reason "milter test: rejected"
request victim1 receive,send --principal sasl:victim1 --target send=@example.com --accept-from @example.com
approve_all victim1
request certbot1 send --principal "cert:CN=certbot1,O=Example Corp" --target send=@example.com \
  --credential-type x509
approve_all certbot1
# Expiry happens by the clock: move exp1's expires_at an hour into the past and bump the
# generation, as any registry write does, so a running daemon would reload too.
sqlite3 "$DB" "UPDATE identities SET expires_at = strftime('%s','now') - 3600 WHERE id = 'exp1';
               UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation';"

want_status() {
  local got
  got=$(ctl --json identity show "$1" | jq -r .status)
  [[ $got == "$2" ]] || { echo "registry setup: $1 is '$got', expected '$2'" >&2; exit 3; }
}
for pair in bot1:active inbox1:active sendonly1:active pending1:requested susp1:suspended \
  rev1:revoked exp1:expired rejected1:rejected victim1:active certbot1:active; do
  want_status "${pair%%:*}" "${pair#*:}"
done

# ---------------------------------------------------------------------------------------------
# The daemon: started once for all scripts (libmilter needs ~5 s to stop).
"$DAEMON" -c "$CFG" --foreground >"$LOG" 2>&1 &
DPID=$!
for ((i = 0; i < 100; i++)); do
  [[ -S $SOCK ]] && break
  kill -0 "$DPID" 2>/dev/null || break
  sleep 0.05
done
if [[ ! -S $SOCK ]]; then
  echo "agentgated did not open $SOCK; its log:" >&2
  sed 's/^/  log| /' "$LOG" >&2
  exit 3
fi

# ---------------------------------------------------------------------------------------------
# Reported product bugs the scripts assert the correct behaviour for (T.case(..., TAG)): while a
# tag is listed here its failing checks print XFAIL and do not fail the suite; a case that passes
# anyway prints XPASS. Remove a tag when its fix lands.
#   trailing-dot-domain: policy::normalize_address keeps a trailing dot in the domain, so
#     <x@agents.example.com.> is not in the agent domain and escapes every check, while Postfix
#     strips that dot (trivial-rewrite) and delivers to x@agents.example.com.
KNOWN_BUGS=()
# AGENTGATE_MT_KNOWN_BUGS="..." replaces the list ("" = none), e.g. to check a fix.
if [[ -n ${AGENTGATE_MT_KNOWN_BUGS+set} ]]; then read -r -a KNOWN_BUGS <<<"$AGENTGATE_MT_KNOWN_BUGS"; fi
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); echo "PASS: $1"; }
fail() {
  FAIL=$((FAIL + 1))
  echo "FAIL: $1"
  [[ -z ${2:-} ]] || head -n 60 <<<"$2" | sed 's/^/  | /'
}

# check_expectations FILE: FILE holds one JSON object per expectation, e.g.
#   {"kind":"EXPECT","qid":"Q1","stage":"eom","action":"reject","reasons":"identity_revoked"}
# The event is found by email.local_id (+ agentgate.stage, + email.to.address for rcpt-stage
# events); exactly one must match, and every other key must equal the event's field.
# {"kind":"EXPECT_NONE","qid":"Q"} means: no event at all carries that queue id.
# Prints one line per failed expectation; nothing when all hold.
check_expectations() {
  jq -n -r --slurpfile ev "$EVENTS" --slurpfile ex "$1" '
    def field($k):
      if   $k == "stage"     then .agentgate.stage
      elif $k == "action"    then .event.action
      elif $k == "outcome"   then .event.outcome
      elif $k == "reasons"   then (.agentgate.reasons | join(",") | if . == "" then "none" else . end)
      elif $k == "rule"      then .rule.name
      elif $k == "to"        then (.email.to.address | join(","))
      elif $k == "from"      then (.email.from.address | join(","))
      elif $k == "direction" then .email.direction
      elif $k == "identity"  then .gen_ai.agent.id
      elif $k == "rcpt_ids"  then (.agentgate.recipient_identities | join(","))
      elif $k == "untrusted" then (.agentgate.untrusted | tostring)
      elif $k == "user"      then .user.name
      elif $k == "would"     then .agentgate.would_action
      elif $k == "mode"      then .agentgate.mode
      elif $k == "client"    then .source.ip
      elif $k == "subject"   then .email.subject
      elif $k == "msgid"     then .email.message_id
      else error("unknown expectation key \($k)") end;
    def summary: "\(.event.id) stage=\(.agentgate.stage) action=\(.event.action) reasons=\(.agentgate.reasons | join(",")) to=\(.email.to.address | join(",")) detail=\(.event.reason)";
    $ex[] as $x
    | (if $x.bug then "XFAIL (known bug \($x.bug)) " else "" end) as $pfx
    | [ $ev[] | select(.email.local_id == $x.qid) ] as $same_qid
    | if $x.kind == "EXPECT_NONE" then
        (if ($same_qid | length) == 0 then empty
         else $pfx + "qid \($x.qid): expected no event, found \($same_qid | length): \($same_qid | map(summary) | join(" ; "))" end)
      else
        [ $same_qid[] | select(.agentgate.stage == $x.stage)
          | select($x.stage != "rcpt" or ($x.to == null) or ((.email.to.address | join(",")) == $x.to)) ] as $m
        | if ($m | length) != 1 then
            $pfx + "qid \($x.qid) stage \($x.stage)\(if $x.to then " to " + $x.to else "" end): expected exactly 1 event, found \($m | length)\(if ($same_qid | length) > 0 then ": " + ($same_qid | map(summary) | join(" ; ")) else "" end)"
          else
            $m[0] as $e
            | [ $x | to_entries[] | select(.key != "kind" and .key != "qid" and .key != "bug") | . as $kv
                | ($e | field($kv.key)) as $got
                | select($got != $kv.value)
                | "\($kv.key): want \($kv.value | tojson), got \($got | tojson)" ] as $bad
            | if ($bad | length) == 0 then empty
              else $pfx + "qid \($x.qid) stage \($x.stage): \($bad | join("; ")) [\($e | summary)]" end
          end
      end'
}

# EXPECT lines (printed by the Lua scripts with mt.echo) -> JSON objects, one per line.
expectations_json() {
  grep -E '^EXPECT(_NONE)? ' | jq -R -c '
    split(" ") | map(select(. != "")) as $w
    | reduce ($w[1:][] | capture("^(?<k>[a-z_]+)=(?<v>.*)$")) as $kv
        ({kind: $w[0]}; . + {($kv.k): $kv.v})' || true
}

XFAILS=0 XPASSES=0
run_script() {
  local lua=$1 name out rc=0 problems="" hard="" soft="" nexp=0 nx
  name=$(basename "$lua")
  out=$(cd "$HERE" && timeout 60 miltertest -w -D "SOCK=unix:$SOCK" -D "EVENTS=$EVENTS" \
    -D "CTL=$CTL" -D "CFG=$CFG" -D "LIB=$HERE/lib.lua" -D "DPID=$DPID" -D "LOG=$LOG" -D "DB=$DB" \
    -D "KNOWN_BUGS=${KNOWN_BUGS[*]}" -s "$lua" 2>&1) || rc=$?
  expectations_json <<<"$out" >"$TMP/$name.exp"
  nexp=$(wc -l <"$TMP/$name.exp")
  [[ -z ${AGENTGATE_MT_VERBOSE:-} ]] || sed "s/^/  $name| /" <<<"$out"
  if ((nexp > 0)); then
    problems=$(check_expectations "$TMP/$name.exp" 2>&1) || problems="jq failed: $problems"
  fi
  hard=$(grep -v '^XFAIL ' <<<"$problems" || true)
  soft=$(grep '^XFAIL ' <<<"$problems" || true)
  nx=$(( $(grep -c '^XFAIL - ' <<<"$out" || true) + $(grep -c . <<<"$soft" || true) ))
  XFAILS=$((XFAILS + nx))
  XPASSES=$((XPASSES + $(grep -c '^XPASS - ' <<<"$out" || true)))
  if [[ $rc == 0 && -z $hard ]] && grep -q "^DONE $name" <<<"$out"; then
    pass "$name ($(grep -c '^ok ' <<<"$out" || true) protocol checks, $nexp event checks$( ((nx == 0)) || echo ", $nx known-bug checks XFAIL"))"
    grep -E '^(XFAIL|XPASS) - ' <<<"$out" | sed 's/^/  | /' || true
    [[ -z $soft ]] || sed 's/^/  | events.jsonl: /' <<<"$soft"
  else
    local why="miltertest exit status $rc"
    grep -q "^DONE $name" <<<"$out" || why+=", script did not reach its end"
    [[ -z $hard ]] || why+=", event checks failed"
    fail "$name ($why)" "$(grep -v -E '^(ok|EXPECT(_NONE)?) ' <<<"$out")${problems:+$'\n'events.jsonl:$'\n'$problems}"
  fi
}

START=$SECONDS
# AGENTGATE_MT_SCRIPTS="a.lua b.lua" runs only those (paths relative to tests/milter or absolute).
if [[ -n ${AGENTGATE_MT_SCRIPTS:-} ]]; then
  read -r -a SCRIPTS <<<"$AGENTGATE_MT_SCRIPTS"
else
  # These disturb the running daemon (config reload, store outage) and undo it: they run last.
  LAST=(reload_modes.lua store_outage.lua)
  SCRIPTS=()
  for f in "$HERE"/*.lua; do # glob order is sorted
    f=$(basename "$f")
    [[ $f == lib.lua || " ${LAST[*]} " == *" $f "* ]] || SCRIPTS+=("$f")
  done
  SCRIPTS+=("${LAST[@]}")
fi
for s in "${SCRIPTS[@]}"; do
  [[ $s == /* ]] || s="$HERE/$s"
  run_script "$s"
done

# Suite-level checks on the daemon itself.
if kill -0 "$DPID" 2>/dev/null; then pass "agentgated still running after all scripts"
else fail "agentgated died during the tests" "$(tail -n 40 "$LOG")"; fi
if grep -q -i "internal error" "$LOG"; then fail "no internal errors in the daemon log" "$(grep -i 'internal error' "$LOG")"
else pass "no internal errors in the daemon log"; fi
if out=$(ctl events verify "$EVENTS" 2>&1); then pass "events.jsonl hash chain verifies ($(wc -l <"$EVENTS") events)"
else fail "events.jsonl hash chain verifies" "$out"; fi

# The control plane: status over the control socket and /metrics agree with the event log.
http_get() { # http_get PATH -> status line + body on stdout
  exec 3<>"/dev/tcp/127.0.0.1/${AGENTGATE_MT_METRICS_PORT:-3691}" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n' "$1" >&3
  timeout 5 cat <&3
  exec 3<&-
}
metric() { grep -E "^$1 " <<<"$METRICS" | awk '{print $2}'; }
EVENTS_N=$(wc -l <"$EVENTS")
if st=$(ctl --json status 2>&1) && jq -e --argjson n "$EVENTS_N" \
    '([.counts.by_action[]] | add) == $n and .registry.fresh == true and .mode == "enforce"' \
    <<<"$st" >/dev/null; then
  pass "status: decisions by action add up to the $EVENTS_N events written; registry fresh"
else fail "status: decisions by action add up to the $EVENTS_N events written; registry fresh" "$st"; fi
want_reasons=$(jq -s -c '[.[].agentgate.reasons[]] | group_by(.) | map({(.[0]): length}) | add // {}' "$EVENTS")
if jq -e --argjson want "$want_reasons" '.counts.by_reason == $want' <<<"$st" >/dev/null; then
  pass "status: counts by reason match the event log"
else fail "status: counts by reason match the event log" "want $want_reasons; status: $(jq -c .counts.by_reason <<<"$st")"; fi
STORE_GEN=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'generation'")
if [[ $(jq -r .registry.generation <<<"$st") == "$STORE_GEN" ]]; then
  pass "status: the daemon runs the store's generation $STORE_GEN"
else fail "status: the daemon runs the store's generation $STORE_GEN" "$(jq -c .registry <<<"$st")"; fi
METRICS=$(http_get /metrics || true)
if grep -q "^HTTP/1.1 200" <<<"$METRICS" &&
  [[ $(grep -E '^agentgate_decisions_total' <<<"$METRICS" | awk '{s += $2} END {print s}') == "$EVENTS_N" ]] &&
  [[ $(metric agentgate_registry_generation) == "$STORE_GEN" ]] && [[ $(metric agentgate_registry_fresh) == 1 ]] &&
  [[ $(metric 'agentgate_reloads_total\{result="ok"\}') -ge 1 ]]; then
  pass "/metrics: decisions add up to the events, generation, freshness and SIGHUP reloads"
else fail "/metrics: decisions add up to the events, generation, freshness and SIGHUP reloads" "$(grep -E '^(HTTP|agentgate_(decisions_total|registry|reloads))' <<<"$METRICS")"; fi
if grep -q "^HTTP/1.1 200" <<<"$(http_get /healthz)" && grep -q "^HTTP/1.1 404" <<<"$(http_get /nope)"; then
  pass "/healthz is 200 while fresh; unknown paths are 404"
else fail "/healthz is 200 while fresh; unknown paths are 404" "$(http_get /healthz)"; fi
if [[ $(stat -c %a "$TMP/control.sock") == 660 ]]; then pass "the control socket is mode 0660"
else fail "the control socket is mode 0660" "$(stat -c %a "$TMP/control.sock")"; fi
ENGINE=${AGENTGATE_MT_ENGINE:-libmilter}
if grep -q "(engine $ENGINE," "$LOG"; then pass "agentgated ran the $ENGINE protocol engine"
else fail "agentgated ran the $ENGINE protocol engine" "$(grep ' ready on ' "$LOG")"; fi

stop_daemon
if [[ -n ${AGENTGATE_MT_VERBOSE:-} ]]; then sed 's/^/  log| /' "$LOG"; fi
echo "($((SECONDS - START)) s for the scripts and checks)"
if ((XFAILS > 0)); then echo "($XFAILS known-bug check(s) XFAIL; KNOWN_BUGS: ${KNOWN_BUGS[*]})"; fi
if ((XPASSES > 0)); then echo "($XPASSES known-bug case(s) XPASS: remove their tags from KNOWN_BUGS)"; fi
echo "$PASS passed, $FAIL failed"
((FAIL == 0))
