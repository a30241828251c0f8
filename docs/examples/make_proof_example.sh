#!/usr/bin/env bash
# Reproduces the worked example of docs/proof.md: a throw-away config and SQLite store, an
# identity taken through the approval flow, a grant issued with --key-out, a small reply signed by
# `agentgatectl sign`, and then, computed independently with /usr/bin/python3 (python3-dkim,
# python3-jwt, python3-cryptography): the relaxed canonical header block and body, hh, bh, rth,
# the decoded token, and a PyJWT verification (tests/interop/verify_with_pyjwt.py).
# Usage: docs/examples/make_proof_example.sh [AGENTGATECTL]   (default: build/cli/agentgatectl)
# KEEP=1 keeps the temporary directory. Each run makes a new key, grant id, jti, iat/exp and
# signature; hh, bh and rth depend only on the message and the envelope and are always the same.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-$repo/build/cli/agentgatectl}
py=/usr/bin/python3  # Debian's interpreter, where python3-jwt and python3-dkim live
T=$(mktemp -d)
trap '[[ ${KEEP:-} ]] && echo "kept $T" >&2 || rm -rf "$T"' EXIT
section() { printf '\n===== %s =====\n' "$1"; }

cat >"$T/agentgate.toml" <<TOML
[store]
url = "sqlite://$T/registry.db"
[policy]
agent_domains = ["agents.example.com"]
audience = "mta.example.com"
[governance]
ig_reviewers = ["alice"]
TOML
ctl() { "$bin" -c "$T/agentgate.toml" "$@"; }
ctl init >/dev/null

# The identity, through the approval flow (owner, IG, system owner), then a grant for one task.
ctl identity request support-bot --inbox support-bot@agents.example.com --purpose "helpdesk tickets" \
  --business-owner bob --system-owner carol --actions receive,reply,send \
  --principal sasl:support-bot --target send=@example.com --target reply=@example.com \
  --accept-from @example.com --grant-issuer orchestrator --expires 30d \
  --revocation-trigger "helpdesk retired" --actor dave >/dev/null
for r in owner:bob ig:alice system:carol; do
  ctl identity approve support-bot --role "${r%%:*}" --actor "${r##*:}" >/dev/null
done
grant=$(ctl grant issue support-bot --task T-1042 --purpose "answer ticket 1042" --ttl 30m \
  --actions reply --target reply=@example.com --max-messages 5 \
  --key-out "$T/agent.pem" --actor orchestrator)
pub=$(ctl grant show "$grant" --json | jq -r .public_key)

# The message: CRLF line ends, a folded References, runs of spaces and trailing whitespace in
# Subject and body, an unsigned X-Mailer, and trailing empty lines.
printf '%s\r\n' \
  "From: Support Bot <support-bot@agents.example.com>" \
  "To: Alice Example <alice@example.com>" \
  "Cc: helpdesk@example.com" \
  "Subject:  Re: Ticket   1042 --  printer offline " \
  "Date: Sun, 29 Nov 2026 12:00:00 +0000" \
  "Message-ID: <r1042.1@agents.example.com>" \
  "In-Reply-To: <q1042@example.com>" \
  "References: <q1000@example.com>" \
  "	<q1042@example.com>" \
  "X-Mailer: agent-runtime 1.4" \
  "" \
  "Hello Alice,   " \
  "" \
  "the print queue was stuck;	 it runs again." \
  "" \
  "" >"$T/msg.eml"

ctl sign --grant "$grant" --key "$T/agent.pem" --action reply "$T/msg.eml" "$T/signed.eml"

section "grant"
ctl grant show "$grant"
section "private key (PEM, EXAMPLE ONLY)"
cat "$T/agent.pem"
section "message (as written, CRLF shown as line ends)"
tr -d '\r' <"$T/msg.eml"

"$py" - "$T/signed.eml" "$T/msg.eml" "$pub" <<'PY'
import base64, hashlib, json, re, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dkim.canonicalization import Relaxed

signed_path, msg_path, pub = sys.argv[1:]
def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def unb64u(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def section(t): print(f"\n===== {t} =====")

signed = open(signed_path, "rb").read()
msg = open(msg_path, "rb").read()
first, rest = signed.split(b"\r\n", 1)
assert rest == msg, "sign must only prepend one header line"
name, token = first.split(b": ", 1)
token = token.decode()
h64, c64, s64 = token.split(".")
header_json, claims_json = unb64u(h64), unb64u(c64)
claims = json.loads(claims_json)

# Split the message as the signer does: fields (continuations appended with CRLF), then the body.
head, body = msg.split(b"\r\n\r\n", 1)
fields = []
for line in head.split(b"\r\n"):
    if line[:1] in (b" ", b"\t"):
        n, v = fields[-1]; fields[-1] = (n, v + b"\r\n" + line)
    else:
        n, v = line.split(b":", 1); fields.append((n, v))

# Relaxed header canonicalization written out from RFC 6376 section 3.4.2 ...
def relaxed_header(n, v):
    v = re.sub(rb"[\r\n]", b"", v)
    v = re.sub(rb"[ \t]+", b" ", v).strip(b" ")
    return n.strip(b" \t").lower() + b":" + v + b"\r\n"
# ... and the selection rule: for each name in h, the next unused instance from the bottom.
def header_block(h, canon):
    out, used = b"", set()
    for want in h:
        for i in range(len(fields) - 1, -1, -1):
            n, v = fields[i]
            if i not in used and n.strip().lower() == want.lower().encode():
                used.add(i); out += canon(n, v); break
    return out
mine = header_block(claims["h"], relaxed_header)
dkims = header_block(claims["h"], lambda n, v: b":".join(
    Relaxed.canonicalize_headers([(n, v + b"\r\n")])[0]))
assert mine == dkims, "own relaxed header canonicalization differs from python3-dkim"

canon_body = Relaxed.canonicalize_body(body)
rcpts = ["alice@example.com", "helpdesk@example.com"]
rth_input = "\n".join(sorted(r.lower() for r in rcpts)).encode()

section("relaxed canonical header block (each line ends CRLF)")
sys.stdout.write(mine.decode().replace("\r\n", "\n"))
section("relaxed canonical body (each line ends CRLF)")
sys.stdout.write(canon_body.decode().replace("\r\n", "\n"))
section("rth input (recipients, lower-cased, sorted, joined by LF; no final LF)")
print(rth_input.decode())
section("digests (computed here / in the token)")
for k, data in (("hh", mine), ("bh", canon_body), ("rth", rth_input)):
    v = b64u(hashlib.sha256(data).digest())
    print(f"{k:4}{v}  {'==' if v == claims[k] else '!='} token")
    assert v == claims[k]
section("JOSE header (decoded bytes, as signed)")
print(header_json.decode())
section("claims (decoded bytes, as signed)")
print(claims_json.decode())
section("claims (pretty)")
print(json.dumps(claims, indent=2))
section("token")
print(token)
section("public key (grant show: base64url of the raw 32 bytes; and PEM)")
key = Ed25519PublicKey.from_public_bytes(unb64u(pub))
print(pub)
print(key.public_bytes(serialization.Encoding.PEM,
                       serialization.PublicFormat.SubjectPublicKeyInfo).decode(), end="")
key.verify(unb64u(s64), f"{h64}.{c64}".encode())  # raises on a bad signature
section("signature (64 bytes, hex)")
print(unb64u(s64).hex())
PY

section "PyJWT verification (tests/interop/verify_with_pyjwt.py)"
"$py" "$repo/tests/interop/verify_with_pyjwt.py" "$T/signed.eml" "$pub" mta.example.com \
  support-bot@agents.example.com alice@example.com helpdesk@example.com
section "the same check after one body byte changed (must fail on bh)"
sed 's/runs again/ran again/' "$T/signed.eml" >"$T/tampered.eml"
if "$py" "$repo/tests/interop/verify_with_pyjwt.py" "$T/tampered.eml" "$pub" mta.example.com \
  support-bot@agents.example.com alice@example.com helpdesk@example.com; then
  echo "unexpected: the tampered message verified" >&2; exit 1
fi
section "signed message (first line is the Agent-Proof header)"
tr -d '\r' <"$T/signed.eml"
