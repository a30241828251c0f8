#!/usr/bin/env bash
# proof_test.sh BIN_DIR: the per-message Agent-Proof end to end, through a REAL private Postfix
# with agentgated (require_proof = true) and smtp-sink: a message signed by `agentgatectl sign`
# is accepted and arrives without its proof; tampering, replay, quotas, revoked grants and
# replies outside their thread are refused with their reason codes.
# Prints PASS/FAIL per check and, last, exactly "N passed, M failed". Run as root.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(cd "${1:?usage: proof_test.sh BIN_DIR}" && pwd)
export PF_PORT=${PF_PORT:-3725} PF_SASL_PORT=${PF_SASL_PORT:-3727} SINK_PORT=${SINK_PORT:-3726}
# shellcheck source=lib/postfix.sh
source "$HERE/lib/postfix.sh"
H=$(h_mkroot agentgate-e2e-proof)
trap 'h_cleanup; [[ ${KEEP:-} ]] || rm -rf "$H"' EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; [[ -n ${2:-} ]] && sed 's/^/      /' <<<"$2"; }

cat >"$H/agentgate.toml" <<TOML
[milter]
socket = "unix:$H/run/agentgate.sock"
group = "postfix"
engine = "${AG_ENGINE:-libmilter}"
[control]
metrics = ""
[store]
url = "sqlite://$H/registry.db"
poll_interval = "100ms"
[policy]
agent_domains = ["agents.example.com"]
audience = "mta.harness.test"
gateway = "mta.harness.test"
require_proof = true
[governance]
ig_reviewers = ["alice"]
security_officers = ["soc-lead"]
[events]
path = "$H/events.jsonl"
TOML
ctl() { "$BIN/cli/agentgatectl" -c "$H/agentgate.toml" "$@"; }
ctl init >/dev/null
ctl identity request support-bot --inbox support-bot@agents.example.com --purpose "tickets" \
  --business-owner bob --system-owner carol --actions receive,reply,send \
  --principal sasl:support-bot --target send=@example.com --target reply=@example.com \
  --accept-from @example.com --grant-issuer orchestrator --expires 30d \
  --revocation-trigger "retired" --actor dave >/dev/null
for r in owner:bob ig:alice system:carol; do
  ctl identity approve support-bot --role "${r%%:*}" --actor "${r##*:}" >/dev/null
done
grant() { ctl grant issue support-bot --task "$1" --purpose "task $1" --ttl 30m "${@:3}" \
  --key-out "$H/$2.pem" --actor orchestrator; }
G1=$(grant T-1 g1)
G2=$(grant T-2 g2 --max-messages 1)
G3=$(grant T-3 g3)

sink_start "$H"
h_spawn "$H/agentgated.log" "$BIN/milter/agentgated" -c "$H/agentgate.toml" --foreground
h_wait_socket "$H/run/agentgate.sock" 10 "$H_LAST_PID"
chmod 755 "$H/run"
pf_setup "$H" "unix:$H/run/agentgate.sock" >/dev/null
pf_start "$H"
h_wait_file_has "$H/agentgated.log" " ready on " 10 >/dev/null 2>&1 || true
if grep -q "(engine ${AG_ENGINE:-libmilter}," "$H/agentgated.log"; then
  ok "agentgated runs the ${AG_ENGINE:-libmilter} protocol engine"
else bad "agentgated runs the ${AG_ENGINE:-libmilter} protocol engine" "$(grep ' ready on ' "$H/agentgated.log")"; fi

n=0
message() { # message SUBJECT [extra header lines...] -> path of a new message file
  n=$((n + 1))
  local f="$H/m$n.eml"
  {
    printf '%s\r\n' "From: Support Bot <support-bot@agents.example.com>" "To: alice@example.com" \
      "Subject: $1" "Date: $(date -R)" "Message-ID: <m$n.$$@agents.example.com>" "${@:2}"
    printf '\r\nHello Alice,\r\nyour ticket is solved.\r\n'
  } >"$f"
  echo "$f"
}
sign() { # sign GRANT KEY IN OUT [sign options...]
  ctl sign --grant "$1" --key "$H/$2.pem" --action "${5:-send}" "${@:6}" "$3" "$4"
}
# `agentgatectl explain` must predict each decision: it runs before the message is sent (it
# spends nothing), and expect_* compare its verdict with the gateway's.
send() { # send FILE [from] -> sets RC, REPLY and EXPLAINED (the first reason, or "accept")
  local t="$H/tr$n.$RANDOM"
  EXPLAINED=$(ctl --json explain --login support-bot --rcpt alice@example.com \
    --mail-from "${2:-support-bot@agents.example.com}" "$1" |
    jq -r 'if .would_action == "accept" then "accept" else .reasons[0] end' || true)
  RC=0
  swaks_send "$t" "127.0.0.1:$PF_PORT" --xclient LOGIN=support-bot \
    --from "${2:-support-bot@agents.example.com}" --to alice@example.com --data "$1" || RC=$?
  REPLY=$(swaks_last_reply "$t")
  QID=$(swaks_qid "$t" 2>/dev/null || true)
}
expect_accept() {
  if [[ $RC == 0 ]]; then ok "$1"; else bad "$1" "rc=$RC $REPLY"; fi
  if [[ $EXPLAINED == accept ]]; then ok "explain predicted: $1"
  else bad "explain predicted: $1" "explain said ${EXPLAINED:-nothing}"; fi
}
expect_reject() { # expect_reject DESC CODE
  if [[ $RC != 0 && $REPLY == *"550 5.7.1 agentgate: $2:"* ]]; then ok "$1 ($2)"
  else bad "$1 (want $2)" "rc=$RC $REPLY"; fi
  if [[ $EXPLAINED == "$2" ]]; then ok "explain predicted: $1 ($2)"
  else bad "explain predicted: $1 (want $2)" "explain said ${EXPLAINED:-nothing}"; fi
}

# 1. A signed message is accepted; the proof never leaves the gateway.
m=$(message "signed"); sign "$G1" g1 "$m" "$m.s"
send "$m.s"; expect_accept "a message signed by agentgatectl sign is accepted"
copy=$(sink_find "$H" "Subject: signed" | head -n1 || true)
if [[ -n $copy ]] && ! grep -qi '^Agent-Proof:' "$copy"; then ok "the delivered copy carries no Agent-Proof"
else bad "the delivered copy carries no Agent-Proof" "${copy:-not delivered}"; fi
if [[ -n $copy ]] && grep -q "^AgentGate-Result: .*grant=$G1; task=T-1;" "$copy"; then
  ok "AgentGate-Result names the grant and task"
else bad "AgentGate-Result names the grant and task" "$(grep -h AgentGate-Result "$copy" 2>/dev/null)"; fi

# 2. The same bytes again (an SMTP retry) pass; the proof on another message is a replay.
send "$m.s"; expect_accept "a byte-identical retry is accepted"
sed 's/^Subject: signed/X-Extra: unsigned field\r\nSubject: signed/' "$m.s" >"$m.replay"
send "$m.replay"; expect_reject "the proof reused on a different message" proof_replayed

# An independent signer (PyJWT + python3-dkim) interoperates.
m=$(message "pyjwt")
if /usr/bin/python3 "$HERE/../interop/sign_with_pyjwt.py" "$m" "$H/g1.pem" "$G1" support-bot T-1 \
  mta.harness.test support-bot@agents.example.com alice@example.com >"$m.s"; then
  send "$m.s"; expect_accept "a proof made by PyJWT and python3-dkim is accepted"
else bad "a proof made by PyJWT and python3-dkim is accepted" "the Python signer failed"; fi

# 3. Tampering with what the proof binds.
m=$(message "body"); sign "$G1" g1 "$m" "$m.s"
sed 's/solved/SOLVED/' "$m.s" >"$m.t"; send "$m.t"
expect_reject "one body byte changed" proof_binding_mismatch
m=$(message "hdr"); sign "$G1" g1 "$m" "$m.s"
sed 's/^Subject: hdr/Subject: hdr!/' "$m.s" >"$m.t"; send "$m.t"
expect_reject "a signed header changed" proof_binding_mismatch
m=$(message "unsigned"); send "$m"; expect_reject "no proof at all" proof_missing
m=$(message "bad-aud"); sign "$G1" g1 "$m" "$m.s" send --audience other.example
send "$m.s"; expect_reject "a proof for another gateway" proof_wrong_audience
m=$(message "wrong-key"); sign "$G1" g3 "$m" "$m.s"
send "$m.s"; expect_reject "signed with another grant's key" proof_bad_signature
m=$(message "dup"); sign "$G1" g1 "$m" "$m.s"; sign "$G1" g1 "$m.s" "$m.d"
send "$m.d"; expect_reject "two Agent-Proof headers" proof_malformed

# 4. Grant state: quota and revocation.
m=$(message "quota-1"); sign "$G2" g2 "$m" "$m.s"; send "$m.s"
expect_accept "the first message of a one-message grant"
m=$(message "quota-2"); sign "$G2" g2 "$m" "$m.s"; send "$m.s"
expect_reject "the second message of a one-message grant" grant_exhausted
send "$m.s"; expect_reject "the refused message resent byte for byte is still refused" grant_exhausted
ctl grant revoke "$G3" --actor soc-lead --reason "test" >/dev/null
m=$(message "revoked"); sign "$G3" g3 "$m" "$m.s"; send "$m.s"
expect_reject "a proof under a revoked grant" grant_revoked

# 5. Replies only inside a thread the inbox really received.
t="$H/inbound.txt"; rc=0
swaks_send "$t" "127.0.0.1:$PF_PORT" --from alice@example.com --to support-bot@agents.example.com \
  --header "Message-ID: <question-1@example.com>" --header "Subject: question" || rc=$?
if [[ $rc == 0 ]]; then ok "alice's question reaches support-bot"; else bad "alice's question reaches support-bot" "$(swaks_last_reply "$t")"; fi
m=$(message "Re: question" "In-Reply-To: <question-1@example.com>"); sign "$G1" g1 "$m" "$m.s" reply
send "$m.s"; expect_accept "a reply in the thread is accepted"
m=$(message "Re: nothing" "In-Reply-To: <never-received@example.com>"); sign "$G1" g1 "$m" "$m.s" reply
send "$m.s"; expect_reject "a reply to a message the inbox never received" reply_not_in_thread

# 6. explain's own surface: the trace, exit statuses, bad input.
explain() { # explain FILE LOGIN [options...] -> sets RC and OUT
  RC=0; OUT=$(ctl explain --login "$2" --rcpt alice@example.com "${@:3}" "$1" 2>&1) || RC=$?
}
want() { # want DESC RC PATTERN...
  local desc=$1 rc=$2 p; shift 2
  if [[ $RC != "$rc" ]]; then bad "$desc" "rc=$RC (want $rc): $OUT"; return; fi
  for p in "$@"; do
    if ! grep -qE -- "$p" <<<"$OUT"; then bad "$desc" "no /$p/ in: $OUT"; return; fi
  done
  ok "$desc"
}
m=$(message "explained"); sign "$G1" g1 "$m" "$m.s"
explain "$m.s" support-bot
want "explain: a valid message exits 0 with every check ok" 0 "^eom +ok +proof.signature" \
  "^session ok +session.quota +messages [0-9]+/unlimited" "^verdict +accept"
if ! grep -q FAIL <<<"$OUT"; then ok "explain: no check of a valid message fails"
else bad "explain: no check of a valid message fails" "$OUT"; fi
sed 's/solved/SOLVED/' "$m.s" >"$m.t"; explain "$m.t" support-bot
want "explain: a changed body exits 1 naming proof.bh and both hashes" 1 \
  "^eom +FAIL proof.bh +bh [A-Za-z0-9_-]{43} vs [A-Za-z0-9_-]{43} of the body" \
  "^verdict +reject \(reasons: proof_binding_mismatch\)"
explain "$m.s" mallory
want "explain: a foreign login fails sender.principal with both values" 1 \
  "FAIL sender.principal +login 'mallory' vs principals sasl:support-bot" "principal_mismatch"
explain "$m.s" support-bot --at 2020-01-01T00:00:00Z
want "explain --at: a proof judged before its iat is not yet valid" 1 "FAIL proof.not_before"
explain "$m.s" support-bot --at yesterday-ish
want "explain: a bad --at is a usage error" 2 "--at 'yesterday-ish'"
printf 'this is not a header

body
' >"$H/garbage.eml"; explain "$H/garbage.eml" support-bot
want "explain: a malformed message is a usage error" 2 "malformed"
RC=0; OUT=$(ctl --json explain --login support-bot "$m.s") || RC=$?
if [[ $RC == 0 ]] && jq -e '.action == "accept" and .grant == "'"$G1"'" and .task == "T-1"
    and (.trace | map(.stage) | unique) == ["eom", "rcpt", "session"]
    and all(.trace[]; (.compared | length) > 0)' <<<"$OUT" >/dev/null; then
  ok "explain --json: verdict, grant, task and a trace of every stage with compared values"
else bad "explain --json: verdict, grant, task and a trace of every stage with compared values" "$OUT"; fi
RC=0; OUT=$(ctl --json explain --login support-bot --rcpt alice@example.com --rcpt eve@elsewhere.test "$m.s") || RC=$?
if [[ $RC == 1 ]] && jq -e '.action == "accept" and .accepted_recipients == ["alice@example.com"]
    and .refused_recipients[0].address == "eve@elsewhere.test"
    and .refused_recipients[0].reason == "recipient_not_permitted"' <<<"$OUT" >/dev/null; then
  ok "explain: a recipient refused at RCPT is reported apart from the message's verdict (rc 1)"
else bad "explain: a recipient refused at RCPT is reported apart from the message's verdict (rc 1)" "rc=$RC $OUT"; fi
sed "s#sqlite://$H/registry.db#sqlite://$H/missing.db#" "$H/agentgate.toml" >"$H/missing.toml"
RC=0; OUT=$("$BIN/cli/agentgatectl" -c "$H/missing.toml" explain "$m.s" 2>&1) || RC=$?
want "explain without a store is an environment failure" 3 "does not exist"

if ctl events verify "$H/events.jsonl" >/dev/null; then ok "the event chain verifies"
else bad "the event chain verifies"; fi
echo "$pass passed, $fail failed"
((fail == 0))
