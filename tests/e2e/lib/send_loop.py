#!/usr/bin/env python3
"""send_loop.py: send messages through an SMTP server back to back, ONE message per SMTP
connection, from one or more parallel sessions, and print one JSON line per message (load and
timing measurements for the e2e fault and revocation tests; swaks is too slow for that).

usage: send_loop.py HOST PORT --from ADDR --to ADDR [--to ADDR ...] [options]
  --xclient ATTRS    send "XCLIENT ATTRS" (e.g. LOGIN=support-bot) after EHLO, then EHLO again
  --count N          start at most N messages in all (default: no limit)
  --duration SECS    start no message later than SECS after the loop began
  --stop-file PATH   start no message once PATH exists
  --threads T        parallel sessions (default 1), each sending back to back
  --interval SECS    each session starts its messages at least SECS apart (default 0: back
                     to back), to bound how many pre-signed --files a long loop needs
  --tag TAG          message n gets "Subject: TAG-n" (unique per message; default "loop")
  --files LIST       LIST names pre-built message files (CRLF, e.g. signed by agentgatectl
                     sign), one per line: each is sent once, in order; the loop ends when they
                     are used up (the envelope still comes from --from/--to)
  --out FILE         write the lines there instead of stdout
At least one of --count, --duration, --stop-file or --files must bound the loop.

One line per message, written when its session ends:
  {"n": 1-based start order, "thread": T, "start_ns": time.time_ns() just before connect,
   "end_ns": after the last reply, "stage": STAGE, "code": SMTP code, "text": reply text,
   "subject": "TAG-n" or "file": PATH}
STAGE is "data" when the message got a final reply after its content (code 250 = accepted by
the server), otherwise the step the server refused: "connect", "ehlo", "xclient", "mail",
"rcpt", "data-cmd"; or "error" with code 0 when the connection broke without a reply.
Timestamps are wall-clock ns (time.time_ns) so that other processes can compare with them
(bash: $EPOCHREALTIME, date +%s%N).  Exit status 0 when the loop ran, 2 on bad usage.
"""
import argparse
import email.utils
import itertools
import json
import os
import smtplib
import socket
import sys
import threading
import time


def text_of(t):
    return t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t)


class Loop:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.t0 = time.monotonic()
        self.files = None
        if a.files:
            with open(a.files, encoding="utf-8") as f:
                self.files = [line.strip() for line in f if line.strip()]
        self.out = open(a.out, "a", encoding="utf-8") if a.out else sys.stdout

    def next_message(self):
        """(n, subject-or-None, file-or-None), or None when the loop must stop."""
        with self.lock:
            a = self.a
            if a.duration is not None and time.monotonic() - self.t0 >= a.duration:
                return None
            if a.stop_file and os.path.exists(a.stop_file):
                return None
            n = next(self.counter)
            if a.count is not None and n > a.count:
                return None
            if self.files is not None:
                if n > len(self.files):
                    return None
                return n, None, self.files[n - 1]
            return n, f"{a.tag}-{n}", None

    def body(self, subject):
        a = self.a
        hdrs = [
            ("From", a.sender),
            ("To", ", ".join(a.rcpt)),
            ("Subject", subject),
            ("Date", email.utils.formatdate(localtime=False)),
            ("Message-ID", email.utils.make_msgid(domain="loop.example")),
        ]
        text = "".join(f"{k}: {v}\r\n" for k, v in hdrs) + "\r\n" + subject + "\r\n"
        return text.encode("utf-8")

    def send_one(self, n, subject, path, thread):
        a = self.a
        rec = {"n": n, "thread": thread}
        if subject:
            rec["subject"] = subject
            msg = self.body(subject)
        else:
            rec["file"] = path
            with open(path, "rb") as f:
                msg = f.read()
        stage, code, text = "connect", 0, ""
        rec["start_ns"] = time.time_ns()
        s = None
        try:
            s = smtplib.SMTP(a.host, a.port, local_hostname="loop.example", timeout=a.timeout)
            stage = "ehlo"
            code, text = s.ehlo()
            if code == 250 and a.xclient:
                stage = "xclient"
                code, text = s.docmd("XCLIENT", a.xclient)
                if code == 220:
                    stage = "ehlo"
                    code, text = s.ehlo()
            if code == 250:
                stage = "mail"
                code, text = s.mail(a.sender)
            if code == 250:
                stage = "rcpt"
                for r in a.rcpt:
                    code, text = s.rcpt(r)
                    if code not in (250, 251):
                        break
            if code in (250, 251):
                stage = "data-cmd"
                # SMTP.data raises SMTPDataError when DATA itself is refused, and returns the
                # final reply (250, 4xx or 5xx) after the content
                code, text = s.data(msg)
                stage = "data"
        except smtplib.SMTPResponseException as e:
            code, text = e.smtp_code, e.smtp_error
        except (OSError, smtplib.SMTPException) as e:
            stage, code, text = "error", 0, f"{type(e).__name__}: {e}"
        finally:
            if s is not None:
                try:
                    s.quit()
                except (OSError, smtplib.SMTPException):
                    try:
                        s.close()
                    except OSError:
                        pass
        rec["end_ns"] = time.time_ns()
        rec.update(stage=stage, code=code, text=text_of(text))
        line = json.dumps(rec)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def worker(self, thread):
        while True:
            started = time.monotonic()
            m = self.next_message()
            if m is None:
                return
            self.send_one(*m, thread)
            rest = self.a.interval - (time.monotonic() - started)
            if rest > 0:
                time.sleep(rest)

    def run(self):
        threads = [threading.Thread(target=self.worker, args=(t,)) for t in range(self.a.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def main():
    p = argparse.ArgumentParser(description="one message per SMTP connection, back to back")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", dest="rcpt", action="append", required=True)
    p.add_argument("--xclient")
    p.add_argument("--count", type=int)
    p.add_argument("--duration", type=float)
    p.add_argument("--stop-file")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.0)
    p.add_argument("--tag", default="loop")
    p.add_argument("--files")
    p.add_argument("--out")
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    if a.count is None and a.duration is None and not a.stop_file and not a.files:
        p.error("unbounded: give --count, --duration, --stop-file or --files")
    socket.setdefaulttimeout(a.timeout)
    Loop(a).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
