#!/usr/bin/python3
"""Independent check of an Agent-Proof made by `agentgatectl sign`: PyJWT (Debian python3-jwt)
verifies the EdDSA signature, and python3-dkim's relaxed canonicalization must give the same
hh and bh; rth and mf are recomputed from the envelope given on the command line.
Usage: verify_with_pyjwt.py SIGNED_MESSAGE PUBLIC_KEY_B64URL AUDIENCE MAIL_FROM RCPT...
Exits 0 when every check passes, 1 with the failing check named; anything else (a missing
module, a malformed file) is an error with another status."""
import base64
import hashlib
import sys

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dkim.canonicalization import Relaxed


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> int:
    path, pub, audience, mail_from, *rcpts = sys.argv[1:]
    raw = open(path, "rb").read()
    first, rest = raw.split(b"\r\n", 1)
    name, token = first.split(b": ", 1)
    if name != b"Agent-Proof":
        print("FAIL: first line is not the Agent-Proof header")
        return 1
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(pub + "=" * (-len(pub) % 4)))
    header = jwt.get_unverified_header(token.decode())
    try:
        claims = jwt.decode(token.decode(), key, algorithms=["EdDSA"], audience=audience)
    except jwt.InvalidSignatureError:
        print("FAIL: signature")
        return 1
    headers, body = rest.split(b"\r\n\r\n", 1)
    fields = []
    for line in headers.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            n, v = fields[-1]
            fields[-1] = (n, v + b"\r\n" + line)
        else:
            n, v = line.split(b":", 1)
            fields.append((n, v))
    canon = b""
    used = set()
    for want in claims["h"]:
        for i in range(len(fields) - 1, -1, -1):
            n, v = fields[i]
            if i not in used and n.lower() == want.encode():
                used.add(i)
                cn, cv = Relaxed.canonicalize_headers([(n, v + b"\r\n")])[0]
                canon += cn + b":" + cv
                break
    checks = {
        "typ": header.get("typ") == "agent-proof+jwt",
        "alg": header.get("alg") == "EdDSA",
        "hh": b64u(hashlib.sha256(canon).digest()) == claims["hh"],
        "bh": b64u(hashlib.sha256(Relaxed.canonicalize_body(body)).digest()) == claims["bh"],
        "rth": b64u(hashlib.sha256("\n".join(sorted(r.lower() for r in rcpts)).encode()).digest())
        == claims["rth"],
        "mf": claims["mf"] == mail_from,
        "lifetime": 0 < claims["exp"] - claims["iat"] <= 300,
    }
    failed = [k for k, ok in checks.items() if not ok]
    if failed:
        print("FAIL: " + ", ".join(failed))
        return 1
    print("OK: PyJWT verified the signature; hh, bh, rth and mf match independent computation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
