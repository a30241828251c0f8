#!/usr/bin/env python3
"""smtp_session.py: run several SMTP transactions on ONE connection (swaks
cannot) and print one JSON object per transaction on stdout.

usage: smtp_session.py HOST PORT SCRIPT.json

SCRIPT is {"xclient": "LOGIN=x" (optional), "transactions": [T, ...]} where T is
{"label": str, "from": addr, "rcpt": [addr, ...],
 "headers": [[name, value], ...], "rset": bool}
With "rset": true the transaction stops after RCPT and sends RSET instead of
DATA.  Output per transaction:
{"label", "mail": [code, text], "rcpt": [[code, text], ...],
 "data": [code, text] | null, "rset": [code, text] | null}
Exit status 0 when the session ran to QUIT (whatever the replies), 2 on a
protocol or connection error.
"""
import email.utils
import json
import smtplib
import sys


def reply(pair):
    code, text = pair
    return [code, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)]


def main():
    host, port, script_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(script_path, encoding="utf-8") as f:
        script = json.load(f)
    s = smtplib.SMTP(host, port, local_hostname="client.example", timeout=30)
    s.ehlo()
    if script.get("xclient"):
        code, text = s.docmd("XCLIENT", script["xclient"])
        if code != 220:
            print(json.dumps({"error": "XCLIENT refused", "reply": reply((code, text))}))
            return 2
        s.ehlo()  # XCLIENT restarts the session: greet again
    for t in script["transactions"]:
        out = {"label": t["label"], "mail": None, "rcpt": [], "data": None, "rset": None}
        out["mail"] = reply(s.mail(t["from"]))
        accepted = 0
        for r in t["rcpt"]:
            rr = reply(s.rcpt(r))
            out["rcpt"].append(rr)
            accepted += rr[0] == 250
        if t.get("rset") or out["mail"][0] != 250 or accepted == 0:
            out["rset"] = reply(s.rset())
        else:
            hdrs = [list(h) for h in t.get("headers", [])]
            names = {h[0].lower() for h in hdrs}
            if "date" not in names:
                hdrs.append(["Date", email.utils.formatdate(localtime=False)])
            if "message-id" not in names:
                hdrs.append(["Message-ID", email.utils.make_msgid(domain="client.example")])
            body = "".join(f"{n}: {v}\r\n" for n, v in hdrs) + "\r\n" + t["label"] + "\r\n"
            # SMTP.data returns the final reply (550 included) instead of raising
            out["data"] = reply(s.data(body.encode("utf-8")))
        print(json.dumps(out), flush=True)
    s.quit()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, smtplib.SMTPException) as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(2)
