#!/usr/bin/python3
"""An independent Agent-Proof signer: PyJWT (Debian python3-jwt) signs, python3-dkim
canonicalizes. Used to prove that agentgated accepts proofs it did not make itself.
Usage: sign_with_pyjwt.py MESSAGE PRIVATE_KEY_PEM GRANT IDENTITY TASK AUDIENCE MAIL_FROM RCPT...
Writes the message with an Agent-Proof header prepended to stdout."""
import base64
import hashlib
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from dkim.canonicalization import Relaxed


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> int:
    path, pem, grant, identity, task, audience, mail_from, *rcpts = sys.argv[1:]
    raw = open(path, "rb").read()
    headers, body = raw.split(b"\r\n\r\n", 1)
    fields = [tuple(line.split(b":", 1)) for line in headers.split(b"\r\n")]
    names = [n.decode().lower() for n, _ in fields]
    signed = [h for h in ("from", "to", "cc", "subject", "date", "message-id") if h in names]
    canon = b""
    for want in signed:
        for n, v in reversed(fields):
            if n.lower() == want.encode():
                cn, cv = Relaxed.canonicalize_headers([(n, v + b"\r\n")])[0]
                canon += cn + b":" + cv
                break
    now = int(time.time())
    claims = {
        "iss": identity, "aud": audience, "iat": now, "exp": now + 120,
        "jti": b64u(os.urandom(16)), "task": task, "act": "send", "mf": mail_from,
        "rth": b64u(hashlib.sha256("\n".join(sorted(r.lower() for r in rcpts)).encode()).digest()),
        "h": signed, "hh": b64u(hashlib.sha256(canon).digest()),
        "bh": b64u(hashlib.sha256(Relaxed.canonicalize_body(body)).digest()),
    }
    key = serialization.load_pem_private_key(open(pem, "rb").read(), None)
    token = jwt.encode(claims, key, algorithm="EdDSA",
                       headers={"typ": "agent-proof+jwt", "kid": grant})
    sys.stdout.buffer.write(b"Agent-Proof: " + token.encode() + b"\r\n" + raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
