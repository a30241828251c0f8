#!/usr/bin/env bash
# quarantine_test.sh BIN_DIR: the SOC's quarantine workflow end to end, through a REAL private
# Postfix (hold queue) with agentgated and smtp-sink: mail from a sender an agent inbox does not
# trust is quarantined (sender_not_trusted); `agentgatectl quarantine list|show|stats` find it
# with its reasons; `release` delivers it to the sink and `delete` removes it, both audited
# and both in the event log; a message no longer in the queue is refused and nothing changes;
# bulk operations have a dry run.
# Prints PASS/FAIL per check and, last, exactly "N passed, M failed". Run as root.
# Ports (env): PF_PORT=4025 SINK_PORT=4026.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(cd "${1:?usage: quarantine_test.sh BIN_DIR}" && pwd)
export PF_PORT=${PF_PORT:-4025} SINK_PORT=${SINK_PORT:-4026} PF_SASL_PORT=off
# shellcheck source=lib/postfix.sh
source "$HERE/lib/postfix.sh"
H=$(h_mkroot agentgate-e2e-quarantine)
trap 'h_cleanup; [[ ${KEEP:-} ]] || rm -rf "$H"' EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; [[ -n ${2:-} ]] && sed 's/^/      /' <<<"$2"; }
check() { # check DESC COMMAND...: the command succeeds
  local d=$1; shift
  if out=$("$@" 2>&1); then ok "$d"; else bad "$d" "$out"; fi
}

cat >"$H/agentgate.toml" <<TOML
[milter]
socket = "unix:$H/run/agentgate.sock"
group = "postfix"
[control]
socket = "$H/run/control.sock"
metrics = ""
[store]
url = "sqlite://$H/registry.db"
poll_interval = "100ms"
[policy]
agent_domains = ["agents.example.com"]
require_proof = false
[governance]
ig_reviewers = ["alice"]
security_officers = ["soc-lead"]
[events]
path = "$H/events.jsonl"
[mta]
kind = "postfix"
config_dir = "$H/pf/etc"
TOML
ctl() { "$BIN/cli/agentgatectl" -c "$H/agentgate.toml" "$@"; }
ctl init >/dev/null
ctl identity request intake-bot --inbox intake-bot@agents.example.com --purpose "intake" \
  --business-owner bob --system-owner carol --actions receive --accept-from @example.com \
  --expires 30d --revocation-trigger "retired" --actor dave >/dev/null 2>&1
for r in owner:bob ig:alice; do
  ctl identity approve intake-bot --role "${r%%:*}" --actor "${r##*:}" >/dev/null 2>&1
done

sink_start "$H"
h_spawn "$H/agentgated.log" "$BIN/milter/agentgated" -c "$H/agentgate.toml" --foreground
h_wait_socket "$H/run/agentgate.sock" 10 "$H_LAST_PID"
chmod 755 "$H/run"
pf_setup "$H" "unix:$H/run/agentgate.sock" >/dev/null
pf_start "$H"

# send SUBJECT: an untrusted sender mails the intake inbox; prints the queue id.
send() {
  local t="$H/tr.$RANDOM" rc=0
  swaks_send "$t" "127.0.0.1:$PF_PORT" --from mallory@untrusted.test \
    --to intake-bot@agents.example.com --header "Subject: $1" \
    --body $'Please wire the funds.\r\n\x1b[31mred\x1b[0m' >/dev/null || rc=$?
  if ((rc == 0)); then swaks_qid "$t"; else echo "send $1: rc=$rc $(swaks_last_reply "$t")" >&2; fi
}
held() { postqueue -c "$H/pf/etc" -j | jq -r 'select(.queue_name == "hold") | .queue_id'; }

Q1=$(send q-one) Q2=$(send q-two) Q3=$(send q-three) Q4=$(send q-four)
if [[ -n $Q1 && -n $Q2 && -n $Q3 && -n $Q4 ]]; then ok "four untrusted messages accepted by Postfix"
else bad "four untrusted messages accepted by Postfix" "$Q1 $Q2 $Q3 $Q4"; fi
sleep 0.5
if [[ $(held | sort | tr '\n' ' ') == "$(printf '%s\n' "$Q1" "$Q2" "$Q3" "$Q4" | sort | tr '\n' ' ')" ]]; then
  ok "all four sit in Postfix's hold queue"
else bad "all four sit in Postfix's hold queue" "held: $(held | tr '\n' ' ')"; fi

# list / show / stats
out=$(ctl --json quarantine list)
if jq -e --arg q "$Q1" 'length == 4 and (map(select(.queue_id == $q))[0] |
    .reasons == ["sender_not_trusted"] and .status == "held" and .identity == "intake-bot"
    and .mail_from == "mallory@untrusted.test" and .subject == "q-one"
    and .recipients == ["intake-bot@agents.example.com"] and (.event_id | length) == 20
    and .context.identity.id == "intake-bot")' <<<"$out" >/dev/null; then
  ok "quarantine list --json: each message with its reasons, identity, envelope and context"
else bad "quarantine list --json: each message with its reasons, identity, envelope and context" "$out"; fi
EV=$(jq -r --arg q "$Q1" 'map(select(.queue_id == $q))[0].event_id' <<<"$out")
if jq -e -s --arg e "$EV" --arg q "$Q1" 'map(select(.event.id == $e))[0] |
    .event.action == "quarantine" and .email.local_id == $q' "$H/events.jsonl" >/dev/null; then
  ok "the index's event id is the quarantine event in events.jsonl"
else bad "the index's event id is the quarantine event in events.jsonl"; fi
out=$(ctl quarantine list --reason sender_not_trusted --identity intake-bot)
if [[ $(grep -c "sender_not_trusted" <<<"$out") == 4 ]]; then ok "quarantine list filters by reason and identity"
else bad "quarantine list filters by reason and identity" "$out"; fi
out=$(ctl --json quarantine list --reason identity_revoked)
if [[ $(jq length <<<"$out") == 0 ]]; then ok "a filter that matches nothing lists nothing"
else bad "a filter that matches nothing lists nothing" "$out"; fi
rc=0; out=$(ctl quarantine list --reason no_such_code 2>&1) || rc=$?
if [[ $rc == 2 && $out == *"not a reason code"* ]]; then ok "an unknown --reason is a usage error (rc 2)"
else bad "an unknown --reason is a usage error (rc 2)" "rc=$rc $out"; fi
out=$(ctl quarantine show "$Q1")
if grep -q "reasons    sender_not_trusted" <<<"$out" && grep -q "^Subject: q-one" <<<"$out" &&
  grep -q "Please wire the funds." <<<"$out" && ! grep -q $'\x1b' <<<"$out"; then
  ok "quarantine show: reasons, headers and body from the queue, escape sequences defused"
else bad "quarantine show: reasons, headers and body from the queue, escape sequences defused" "$out"; fi
out=$(ctl --json quarantine stats)
if jq -e '.total == 4 and .by_reason.sender_not_trusted == 4 and .by_identity["intake-bot"] == 4
    and .by_status.held == 4' <<<"$out" >/dev/null; then ok "quarantine stats counts by reason, identity and status"
else bad "quarantine stats counts by reason, identity and status" "$out"; fi

# release
# Another MTA sharing the store ([mta] host differs) sees the row but may not act on it.
sed 's/^kind = "postfix"$/kind = "postfix"\nhost = "other-mta.test"/' "$H/agentgate.toml" >"$H/other.toml"
rc=0; out=$("$BIN/cli/agentgatectl" -c "$H/other.toml" quarantine release "$Q1" --actor soc-lead \
  --justification "from the wrong host" 2>&1) || rc=$?
if [[ $rc == 1 && $out == *"is held on $(hostname), not on this host (other-mta.test)"* ]] &&
  held | grep -qx "$Q1" &&
  [[ $(ctl --json quarantine list --status held | jq --arg q "$Q1" 'map(select(.queue_id == $q)) | length') == 1 ]]; then
  ok "another MTA's release is refused (rc 1), naming the host; the message stays held"
else bad "another MTA's release is refused (rc 1), naming the host; the message stays held" "rc=$rc $out"; fi
rc=0; out=$(ctl quarantine release "$Q1" --actor soc-lead 2>&1) || rc=$?
if [[ $rc == 2 ]]; then ok "release without --justification is a usage error"
else bad "release without --justification is a usage error" "rc=$rc $out"; fi
check "release Q1 with actor and justification" ctl quarantine release "$Q1" --actor soc-lead \
  --justification "known vendor, verified by phone"
if sink_find "$H" "Subject: q-one" >/dev/null; then ok "the released message is delivered to the sink"
else bad "the released message is delivered to the sink"; fi
if ! held | grep -qx "$Q1"; then ok "the released message left the hold queue"
else bad "the released message left the hold queue"; fi
out=$(ctl --json quarantine list --status released)
if jq -e --arg q "$Q1" 'length == 1 and .[0].queue_id == $q and .[0].action.by == "soc-lead"
    and .[0].action.justification == "known vendor, verified by phone"' <<<"$out" >/dev/null; then
  ok "the index records the release, the analyst and the justification"
else bad "the index records the release, the analyst and the justification" "$out"; fi
rc=0; out=$(ctl quarantine release "$Q1" --actor soc-lead --justification again 2>&1) || rc=$?
if [[ $rc == 1 && $out == *"already released"* ]]; then ok "a second release is refused (rc 1)"
else bad "a second release is refused (rc 1)" "rc=$rc $out"; fi

# delete
check "delete Q2" ctl quarantine delete "$Q2" --actor soc-lead --justification "phishing"
if ! held | grep -qx "$Q2" && ! postqueue -c "$H/pf/etc" -j | grep -q "\"$Q2\""; then
  ok "the deleted message is gone from the queue"
else bad "the deleted message is gone from the queue"; fi
if ! sink_find "$H" "Subject: q-two" >/dev/null 2>&1; then ok "the deleted message was never delivered"
else bad "the deleted message was never delivered"; fi

# a message that left the queue behind agentgate's back
postsuper -c "$H/pf/etc" -d "$Q3" hold >/dev/null 2>&1
rc=0; out=$(ctl quarantine release "$Q3" --actor soc-lead --justification "x" 2>&1) || rc=$?
if [[ $rc == 1 && $out == *"no longer in the postfix hold queue; nothing changed"* ]] &&
  [[ $(ctl --json quarantine list | jq -r --arg q "$Q3" 'map(select(.queue_id == $q))[0].status') == held ]]; then
  ok "releasing mail no longer in the queue says so and changes nothing"
else bad "releasing mail no longer in the queue says so and changes nothing" "rc=$rc $out"; fi

# bulk with a dry run
out=$(ctl quarantine delete --identity intake-bot --actor soc-lead --justification bulk --dry-run)
if grep -q "dry run: 2 message(s) would be deleted" <<<"$out" && held | grep -qx "$Q4"; then
  ok "bulk delete --dry-run lists the held messages and changes nothing"
else bad "bulk delete --dry-run lists the held messages and changes nothing" "$out"; fi

# audit and events
out=$(ctl --json audit log)
if jq -e --arg q1 "$Q1" --arg q2 "$Q2" '
    any(.[]; .action == "quarantine.release" and .subject == $q1 and .actor == "soc-lead"
        and .details.justification == "known vendor, verified by phone")
    and any(.[]; .action == "quarantine.delete" and .subject == $q2)' <<<"$out" >/dev/null; then
  ok "release and delete are in the audit log with the analyst and justification"
else bad "release and delete are in the audit log with the analyst and justification" "$(jq -c '.[-3:]' <<<"$out")"; fi
check "the audit chain verifies" ctl audit verify
if jq -e -s --arg q1 "$Q1" --arg q2 "$Q2" '
    any(.[]; .event.action == "release" and .email.local_id == $q1 and .user.name == "soc-lead")
    and any(.[]; .event.action == "delete" and .email.local_id == $q2)' "$H/events.jsonl" >/dev/null; then
  ok "release and delete are events in events.jsonl"
else bad "release and delete are events in events.jsonl" "$(tail -n 2 "$H/events.jsonl")"; fi
check "the event chain verifies" ctl events verify "$H/events.jsonl"

echo "$pass passed, $fail failed"
((fail == 0))
