#!/usr/bin/env bash
# jq filters use $vars bound with --arg (single quotes on purpose).
# shellcheck disable=SC2016
# `agentgatectl events export` (SPEC sections 6 and 7) on a hand-written event log, no daemon:
# ECS lines come out byte for byte as written and carry SPEC section 6's fields; --since selects;
# every OCSF record is an OCSF 1.1 Email Activity record (class_uid 4009) with the attributes a
# SIEM relies on and the activity/disposition/status the mapping in docs/operations.md gives;
# every line survives a jq round trip; bad input is exit 2 naming the line, a missing file 3.
#
#   tests/cli/export.sh PATH/TO/agentgatectl
#
# Needs bash, jq, GNU date. Ends with "N passed, M failed"; exits non-zero when M > 0.
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1" ]]; then
  echo "usage: $0 PATH/TO/agentgatectl" >&2
  exit 2
fi
BIN=$(realpath "$1")
command -v jq >/dev/null || { echo "$0: jq is required" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentgate-export.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
EVENTS="$TMP/events.jsonl"
CFG="$TMP/agentgate.toml"
printf '[events]\npath = "%s"\n' "$EVENTS" >"$CFG"
export AGENTGATE_CONFIG="$CFG"

# ---------------------------------------------------------------------------------------------
# Harness (the style of tests/cli/run.sh)
PASS=0 FAIL=0
LAST_DESC="" LAST_RC=0 LAST_CMD="" OUT="" ERR=""

# show_output NAME TEXT: prints captured output, indented, at most 40 lines.
show_output() {
  local n
  n=$(wc -l <<<"$2")
  head -n 40 <<<"$2" | sed "s/^/  $1| /"
  if ((n > 40)); then echo "  $1| ... ($((n - 40)) more lines)"; fi
}

# result OK? DESCRIPTION DETAIL: records one check.
result() {
  local ok=$1 desc=$2 detail=$3
  if [[ $ok == 1 ]]; then
    PASS=$((PASS + 1))
  else
    FAIL=$((FAIL + 1))
    echo "FAIL: $desc"
    echo "  $detail"
    echo "  command: $LAST_CMD (rc $LAST_RC)"
    show_output stdout "$OUT"
    show_output stderr "$ERR"
  fi
}

# expect RC DESCRIPTION -- COMMAND...: runs the command, captures stdout/stderr, checks the status.
# stdout is also kept byte for byte in $TMP/.out.
expect() {
  local want=$1 desc=$2
  shift 2
  [[ ${1:-} == -- ]] && shift
  LAST_DESC=$desc LAST_CMD="$*" LAST_RC=0
  "$@" >"$TMP/.out" 2>"$TMP/.err" </dev/null || LAST_RC=$?
  OUT=$(<"$TMP/.out") ERR=$(<"$TMP/.err")
  local ok=0
  [[ $LAST_RC == "$want" ]] && ok=1
  result "$ok" "$desc" "expected exit $want, got $LAST_RC"
}

# has TEXT [DESCRIPTION]: the last command's stdout or stderr contains TEXT (fixed string).
has() {
  local text=$1 desc=${2:-"$LAST_DESC: output contains \"$1\""}
  local ok=0
  [[ "$OUT"$'\n'"$ERR" == *"$text"* ]] && ok=1
  result "$ok" "$desc" "missing \"$text\""
}

# same_file A B DESCRIPTION: the two files are byte-identical.
same_file() {
  local ok=0
  cmp -s "$1" "$2" && ok=1
  result "$ok" "$3" "$(diff "$1" "$2" | head -n 10)"
}

# each_line FILE DESCRIPTION JQ-FILTER [jq args...]: the filter is true for every line, taken
# alone; names the first line it is not.
each_line() {
  local file=$1 desc=$2 filter=$3 n=0 line
  shift 3
  while IFS= read -r line; do
    n=$((n + 1))
    if ! jq -e "$@" "$filter" <<<"$line" >/dev/null 2>&1; then
      result 0 "$desc" "line $n fails: $line"
      return
    fi
  done <"$file"
  result "$((n > 0 ? 1 : 0))" "$desc" "no lines"
}

# ---------------------------------------------------------------------------------------------
# Fixture: an event log as agentgated writes it (milter/decision_event.cpp, the event log's
# chain fields, the quarantine release/delete events); the chain need not verify for export.
ago() { date -u -d "$1 ago" +%Y-%m-%dT%H:%M:%S.250Z; }
SEQ=0

# decision ID TIME ACTION DIRECTION REASON-CODES MODE WOULD [LOGIN]
decision() {
  local id=$1 ts=$2 action=$3 direction=$4 codes=$5 mode=$6 would=$7 login=${8:-}
  SEQ=$((SEQ + 1))
  jq -nc --arg id "$id" --arg ts "$ts" --arg action "$action" --arg dir "$direction" \
    --arg codes "$codes" --arg mode "$mode" --arg would "$would" --arg login "$login" \
    --argjson seq "$SEQ" '
    ($codes | split(",") | map(select(. != ""))) as $reasons |
    {"@timestamp": $ts,
     event: {id: $id, kind: "event", category: ["email"], type: ["info"], action: $action,
             outcome: (if $action == "accept" then "success" else "failure" end),
             reason: (if $reasons == [] then "all checks passed" else "\($reasons[0]): detail" end),
             module: "agentgate", sequence: $seq, hash: ("h" + $id)},
     rule: {name: ($reasons[0] // "none")},
     email: {direction: $dir,
             from: {address: [(if $dir == "inbound" then "bob@partner.example"
                               else "sales-bot@agents.example.com" end)]},
             to: {address: [(if $dir == "outbound" then "alice@customer.example"
                             else "support-bot@agents.example.com" end)]},
             message_id: "<\($id)@example.com>", subject: "Subject \($id)", local_id: "Q\($id)"},
     source: {ip: "192.0.2.\($seq)"},
     observer: {hostname: "mx1.example.com", product: "agentgate", type: "mta-filter"},
     user: {name: $login},
     gen_ai: {agent: {id: (if $dir == "inbound" then "" else "sales-bot" end)}},
     agentgate: {reasons: $reasons, grant: "g-\($id)", task: "t-\($id)", mode: $mode,
                 would_action: $would, stage: "eom", untrusted: false,
                 recipient_identities: [], prev_hash: ("p" + $id)}}'
}

# admin ID TIME ACTION ANALYST: release or delete of held mail by an analyst.
admin() {
  local id=$1 ts=$2 action=$3 analyst=$4
  SEQ=$((SEQ + 1))
  jq -nc --arg id "$id" --arg ts "$ts" --arg action "$action" --arg analyst "$analyst" \
    --argjson seq "$SEQ" '
    {"@timestamp": $ts,
     event: {id: $id, kind: "event", category: ["email"], type: ["change"], action: $action,
             outcome: "success", reason: "analyst checked it", sequence: $seq,
             hash: ("h" + $id)},
     rule: {name: "sender_not_trusted"},
     email: {local_id: "Q\($id)", from: {address: ["bob@partner.example"]},
             to: {address: ["support-bot@agents.example.com"]},
             message_id: "<\($id)@example.com>", subject: "Subject \($id)"},
     user: {name: $analyst},
     gen_ai: {agent: {id: "support-bot"}},
     agentgate: {reasons: ["sender_not_trusted"], grant: "", task: "",
                 quarantine_event: "e04", quarantine_host: "mx1.example.com",
                 os_user: $analyst, prev_hash: ("p" + $id)}}'
}

{
  decision e01 2020-01-02T03:04:05.678Z accept outbound "" enforce accept sales
  decision e02 2020-01-02T03:05:00.000Z reject outbound principal_mismatch,proof_missing \
    enforce reject intruder
  decision e03 "$(ago '10 days')" accept inbound "" enforce accept
  decision e04 "$(ago '3 hours')" quarantine inbound sender_not_trusted enforce quarantine
  decision e05 "$(ago '2 hours')" tempfail outbound store_unavailable enforce tempfail sales
  decision e06 "$(ago '90 minutes')" accept internal grant_expired monitor reject sales
  admin e07 "$(ago '60 minutes')" release soc-alice
  decision e08 "$(ago '50 minutes')" quarantine inbound sender_not_trusted enforce quarantine
  admin e09 "$(ago '40 minutes')" delete soc-alice
  decision e10 "$(ago '30 minutes')" accept internal "" enforce accept sales
} >"$EVENTS"

# expected ID -> "activity_id disposition_id action_id status_id" (docs/operations.md table)
declare -A EXPECTED=(
  [e01]="1 1 1 1" [e02]="1 2 2 2" [e03]="2 1 1 1" [e04]="2 3 2 2" [e05]="1 14 2 2"
  [e06]="3 15 1 1" [e07]="99 9 1 1" [e08]="2 3 2 2" [e09]="99 5 2 1" [e10]="3 1 1 1"
)

# ---------------------------------------------------------------------------------------------
# ECS
expect 0 "ecs export of the whole file" -- "$BIN" events export --format ecs "$EVENTS"
cp "$TMP/.out" "$TMP/ecs.jsonl"
same_file "$EVENTS" "$TMP/ecs.jsonl" "ecs export is byte-identical to the file"

expect 0 "ecs export, FILE from the config's [events] path" -- "$BIN" events export --format ecs
cp "$TMP/.out" "$TMP/ecs-default.jsonl"
same_file "$EVENTS" "$TMP/ecs-default.jsonl" "ecs export of [events] path is the file"

expect 0 "ecs export --since 7d" -- "$BIN" events export --format ecs --since 7d "$EVENTS"
cp "$TMP/.out" "$TMP/ecs-7d.jsonl"
sed -n '4,$p' "$EVENTS" >"$TMP/want-7d.jsonl"
same_file "$TMP/want-7d.jsonl" "$TMP/ecs-7d.jsonl" \
  "ecs --since 7d is byte-identical to the lines of the last 7 days"

expect 0 "ecs export --since DATE" -- "$BIN" events export --format ecs --since 2021-01-01 "$EVENTS"
cp "$TMP/.out" "$TMP/ecs-date.jsonl"
sed -n '3,$p' "$EVENTS" >"$TMP/want-date.jsonl"
same_file "$TMP/want-date.jsonl" "$TMP/ecs-date.jsonl" \
  "ecs --since 2021-01-01 is byte-identical to the lines from that date"

expect 0 "ecs export --since a future date selects nothing" -- \
  "$BIN" events export --format ecs --since 2999-01-01 "$EVENTS"
result "$([[ -z $OUT ]] && echo 1 || echo 0)" "--since in the future: no output" "output not empty"

# SPEC section 6, as nested objects. Decisions carry every field; admin actions on held mail
# (release, delete) carry the fields that describe them.
SPEC6_DECISION='
  (has("@timestamp") and (.["@timestamp"] | type == "string")) and
  (.event.id | type == "string") and (.event.kind == "event") and
  (.event.category == ["email"]) and
  (.event.action | IN("accept", "reject", "tempfail", "quarantine")) and
  (.event.outcome | type == "string") and (.event.reason | type == "string") and
  (.rule.name | type == "string") and (.email.direction | type == "string") and
  (.email.from.address | type == "array") and (.email.to.address | type == "array") and
  (.email.message_id | type == "string") and (.email.subject | type == "string") and
  (.email.local_id | type == "string") and (.source.ip | type == "string") and
  (.observer.hostname | type == "string") and (.user.name | type == "string") and
  (.gen_ai.agent.id | type == "string") and (.event.sequence | type == "number") and
  (.event.hash | type == "string") and (.agentgate.reasons | type == "array") and
  (.agentgate.grant | type == "string") and (.agentgate.task | type == "string") and
  (.agentgate.mode | IN("enforce", "monitor")) and
  (.agentgate.would_action | IN("accept", "reject", "tempfail", "quarantine")) and
  (.agentgate.prev_hash | type == "string")'
SPEC6_ADMIN='
  (.["@timestamp"] | type == "string") and (.event.id | type == "string") and
  (.event.kind == "event") and (.event.category == ["email"]) and
  (.event.action | IN("release", "delete")) and (.event.outcome | type == "string") and
  (.email.local_id | type == "string") and (.user.name | type == "string") and
  (.agentgate.reasons | type == "array") and (.event.sequence | type == "number") and
  (.event.hash | type == "string") and (.agentgate.prev_hash | type == "string")'
each_line "$TMP/ecs.jsonl" "ecs: every record has SPEC section 6's fields" \
  "if (.event.action | IN(\"release\", \"delete\")) then $SPEC6_ADMIN else $SPEC6_DECISION end"
each_line "$TMP/ecs.jsonl" "ecs: nested objects, no dotted keys" \
  '[paths | map(tostring) | .[] | select(contains(".") and . != "@timestamp")] == []'
n_actions=$(jq -r '.event.action' "$TMP/ecs.jsonl" | sort -u | tr '\n' ' ')
result "$([[ $n_actions == "accept delete quarantine reject release tempfail " ]] && echo 1 || echo 0)" \
  "the fixture covers every event action" "actions: $n_actions"

# ---------------------------------------------------------------------------------------------
# OCSF
expect 0 "ocsf export of the whole file" -- "$BIN" events export --format ocsf "$EVENTS"
cp "$TMP/.out" "$TMP/ocsf.jsonl"
result "$([[ $(wc -l <"$TMP/ocsf.jsonl") == "$(wc -l <"$EVENTS")" ]] && echo 1 || echo 0)" \
  "ocsf: one record per event" "$(wc -l <"$TMP/ocsf.jsonl") records for $(wc -l <"$EVENTS") events"
order=$(jq -r '.metadata.uid' "$TMP/ocsf.jsonl" | tr '\n' ' ')
result "$([[ $order == "e01 e02 e03 e04 e05 e06 e07 e08 e09 e10 " ]] && echo 1 || echo 0)" \
  "ocsf: records in file order" "order: $order"

OCSF_REQUIRED='
  (.class_uid == 4009) and (.class_name == "Email Activity") and
  (.category_uid == 4) and (.category_name == "Network Activity") and
  (.activity_id | IN(1, 2, 3, 99)) and (.activity_name | type == "string") and
  (.type_uid == 400900 + .activity_id) and (.type_name | startswith("Email Activity: ")) and
  (.time | type == "number" and . == floor and . > 1500000000000) and
  (.severity_id | IN(0, 1, 2, 3, 4, 5, 6, 99)) and (.severity | type == "string") and
  (.status_id | IN(0, 1, 2, 99)) and (.status | type == "string") and
  (.direction_id | IN(0, 1, 2, 3, 99)) and (.direction | type == "string") and
  (.disposition_id | type == "number") and (.disposition | type == "string") and
  (.action_id | IN(0, 1, 2)) and (.action | IN("Unknown", "Allowed", "Denied")) and
  (.message | type == "string") and
  (.email | type == "object") and (.email.from | type == "string") and
  (.email.to | type == "array") and
  (.metadata.product.name == "agentgate") and (.metadata.product.vendor_name == "agentgate") and
  (.metadata.product.version | type == "string") and (.metadata.version == "1.1.0") and
  (.metadata.profiles | index("security_control") != null) and
  (.metadata.uid | type == "string") and (.metadata.sequence | type == "number") and
  (.metadata.log_name == "events.jsonl") and
  (.unmapped.agentgate.reasons | type == "array")'
each_line "$TMP/ocsf.jsonl" "ocsf: every record has the required OCSF 1.1 attributes" \
  "$OCSF_REQUIRED"
each_line "$TMP/ocsf.jsonl" "ocsf: the security_control profile's action and disposition agree" \
  '(.action_id == 1 and (.disposition_id | IN(1, 9, 15))) or
   (.action_id == 2 and (.disposition_id | IN(2, 3, 5, 14)))'
each_line "$TMP/ocsf.jsonl" "ocsf: actor.user.name only with the host profile" \
  '(has("actor") | not) or (.metadata.profiles | index("host") != null)'

for id in "${!EXPECTED[@]}"; do
  got=$(jq -r --arg id "$id" \
    'select(.metadata.uid == $id) | "\(.activity_id) \(.disposition_id) \(.action_id) \(.status_id)"' \
    "$TMP/ocsf.jsonl")
  result "$([[ $got == "${EXPECTED[$id]}" ]] && echo 1 || echo 0)" \
    "ocsf $id ($(jq -r --arg id "$id" 'select(.event.id == $id) | .event.action' "$EVENTS")): activity disposition action status" \
    "want ${EXPECTED[$id]}, got $got"
done

each_line "$TMP/ocsf.jsonl" "ocsf e01: time is @timestamp in epoch milliseconds" \
  '.metadata.uid != "e01" or .time == 1577934245678'
each_line "$TMP/ocsf.jsonl" "ocsf e02: the email, endpoint, actor and reason codes are carried" \
  '.metadata.uid != "e02" or (
     .email.smtp_from == "sales-bot@agents.example.com" and
     .email.to == ["alice@customer.example"] and .email.message_uid == "<e02@example.com>" and
     .email.uid == "Qe02" and .email.subject == "Subject e02" and
     .src_endpoint.ip == "192.0.2.2" and .actor.user.name == "intruder" and
     .status_code == "principal_mismatch" and .metadata.sequence == 2 and
     .unmapped.agentgate.reasons == ["principal_mismatch", "proof_missing"] and
     .unmapped.agentgate.identity == "sales-bot" and .unmapped.agentgate.event_hash == "he02")'
each_line "$TMP/ocsf.jsonl" "ocsf e07: the analyst who released the mail is the actor" \
  '.metadata.uid != "e07" or (.actor.user.name == "soc-alice" and .activity_name == "Release")'

expect 0 "ocsf export --since 7d" -- "$BIN" events export --format ocsf --since 7d "$EVENTS"
ids=$(jq -r '.metadata.uid' <<<"$OUT" | tr '\n' ' ')
result "$([[ $ids == "e04 e05 e06 e07 e08 e09 e10 " ]] && echo 1 || echo 0)" \
  "ocsf --since 7d selects the last 7 days" "got: $ids"

# jq round trip: every line is one JSON value that re-serialises (jq -c) to the same value.
for f in ecs ocsf; do
  jq -S -c . "$TMP/$f.jsonl" >"$TMP/$f.sorted"
  jq -c . "$TMP/$f.jsonl" | jq -S -c . >"$TMP/$f.roundtrip"
  same_file "$TMP/$f.sorted" "$TMP/$f.roundtrip" "$f: jq round trip keeps every value"
  result "$([[ $(wc -l <"$TMP/$f.sorted") == "$(wc -l <"$TMP/$f.jsonl")" ]] && echo 1 || echo 0)" \
    "$f: one JSON value per line" "$(wc -l <"$TMP/$f.sorted") values, $(wc -l <"$TMP/$f.jsonl") lines"
done
each_line "$TMP/ocsf.jsonl" "ocsf: every line is a JSON object on its own" 'type == "object"'

# ---------------------------------------------------------------------------------------------
# Bad usage and input
expect 2 "unknown --format is bad usage" -- "$BIN" events export --format cef "$EVENTS"
has "ecs, ocsf"
expect 2 "missing --format is bad usage" -- "$BIN" events export "$EVENTS"
expect 2 "--since that is neither duration nor date is bad usage" -- \
  "$BIN" events export --format ecs --since soon "$EVENTS"
has "--since"

{ sed -n '1,2p' "$EVENTS"; echo '{"@timestamp": "2026-01-01T00:00:00Z", "event": {'; } \
  >"$TMP/torn.jsonl"
for f in ecs ocsf; do
  expect 2 "$f: a line that is not JSON is bad input" -- \
    "$BIN" events export --format "$f" "$TMP/torn.jsonl"
  has "line 3"
done
{ sed -n '1p' "$EVENTS"; echo; sed -n '2p' "$EVENTS"; } >"$TMP/blank.jsonl"
expect 2 "an empty line is not skipped" -- "$BIN" events export --format ecs "$TMP/blank.jsonl"
has "line 2"
{ sed -n '1p' "$EVENTS"; echo '["accept"]'; } >"$TMP/array.jsonl"
expect 2 "a line that is not a JSON object is bad input" -- \
  "$BIN" events export --format ecs "$TMP/array.jsonl"
has "line 2"
{ sed -n '1p' "$EVENTS"; jq -c 'del(.["@timestamp"])' <<<"$(sed -n '2p' "$EVENTS")"; } \
  >"$TMP/notime.jsonl"
expect 2 "ocsf: an event without @timestamp is bad input" -- \
  "$BIN" events export --format ocsf "$TMP/notime.jsonl"
has "line 2"
expect 2 "ecs --since: an event without @timestamp is bad input" -- \
  "$BIN" events export --format ecs --since 7d "$TMP/notime.jsonl"
has "line 2"
expect 0 "ecs without --since passes an event without @timestamp through" -- \
  "$BIN" events export --format ecs "$TMP/notime.jsonl"

expect 3 "a missing file is an environment failure" -- \
  "$BIN" events export --format ecs "$TMP/nonexistent.jsonl"
has "nonexistent.jsonl"
expect 3 "a directory is an environment failure" -- "$BIN" events export --format ocsf "$TMP"

echo "$PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
