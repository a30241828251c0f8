#!/usr/bin/env bash
# Interoperability of the reference signer: proofs made by `agentgatectl sign` must verify in an
# independent JOSE implementation (PyJWT) and hash like an independent DKIM canonicalizer
# (python3-dkim). Usage: tests/interop/run.sh BUILD_DIR
set -euo pipefail
bin=${1:?usage: run.sh BUILD_DIR}/cli/agentgatectl
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3  # Debian's interpreter, where python3-jwt and python3-dkim live
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { # check DESCRIPTION -- command...
  local what=$1; shift 2
  if out=$("$@" 2>&1); then pass=$((pass + 1)); echo "PASS  $what"
  else fail=$((fail + 1)); echo "FAIL  $what"; echo "$out" | sed 's/^/      /'; fi
}
cat >"$T/a.toml" <<TOML
[store]
url = "sqlite://$T/reg.db"
[policy]
agent_domains = ["agents.example.com"]
audience = "mta.example.com"
[governance]
ig_reviewers = ["alice"]
TOML
ctl() { "$bin" -c "$T/a.toml" "$@"; }
ctl init >/dev/null
ctl identity request support-bot --inbox support-bot@agents.example.com --purpose "tickets" \
  --business-owner bob --system-owner carol --actions receive,reply,send \
  --principal sasl:support-bot --target send=@example.com --target reply=@example.com \
  --grant-issuer orchestrator --expires 30d --revocation-trigger "retired" --actor dave >/dev/null
for r in owner:bob ig:alice system:carol; do
  ctl identity approve support-bot --role "${r%%:*}" --actor "${r##*:}" >/dev/null
done
grant=$(ctl grant issue support-bot --task T-1 --purpose "answer ticket" --ttl 30m \
  --key-out "$T/agent.pem" --actor orchestrator)
pub=$(ctl grant show "$grant" --json | jq -r .public_key)

# A message with folding, trailing whitespace, a duplicated header and trailing empty lines.
printf '%s\r\n' "From: Support Bot <support-bot@agents.example.com>" "To: alice@example.com," \
  "  bob@example.com" "Cc: carol@example.com" "Subject:   Your   ticket  " \
  "Date: Sun, 29 Nov 2026 12:00:00 +0000" "Message-ID: <m1@agents.example.com>" \
  "Subject: second subject" "" "Hello Alice,  " "" "Done. 	 " "" "" >"$T/msg.eml"
check "sign a message (envelope from headers)" -- ctl sign --grant "$grant" --key "$T/agent.pem" \
  --action send "$T/msg.eml" "$T/signed.eml"
check "PyJWT and python3-dkim agree with the proof" -- "$py" "$here/verify_with_pyjwt.py" \
  "$T/signed.eml" "$pub" mta.example.com support-bot@agents.example.com alice@example.com \
  bob@example.com carol@example.com
check "sign with an explicit envelope" -- ctl sign --grant "$grant" --key "$T/agent.pem" \
  --action send --mail-from support-bot@agents.example.com --rcpt Alice@Example.com \
  --audience other.example "$T/msg.eml" "$T/signed2.eml"
check "PyJWT verifies the explicit envelope and audience" -- "$py" \
  "$here/verify_with_pyjwt.py" "$T/signed2.eml" "$pub" other.example \
  support-bot@agents.example.com alice@example.com
other=$(ctl grant issue support-bot --task T-2 --purpose "other" --ttl 30m \
  --key-out "$T/other.pem" --actor orchestrator)
other_pub=$(ctl grant show "$other" --json | jq -r .public_key)
check "a proof does not verify under another grant's key (exit 1: signature)" -- bash -c '"$0" "$1" "$2" "$3" mta.example.com support-bot@agents.example.com alice@example.com bob@example.com carol@example.com; [[ $? == 1 ]]' \
  "$py" "$here/verify_with_pyjwt.py" "$T/signed.eml" "$other_pub"
check "a reply without In-Reply-To is refused (exit 2)" -- bash -c '"$0" -c "$1" sign --grant "$2" --key "$3" --action reply "$4" >/dev/null 2>&1; [[ $? == 2 ]]' \
  "$bin" "$T/a.toml" "$grant" "$T/agent.pem" "$T/msg.eml"
echo "$pass passed, $fail failed"
((fail == 0))
