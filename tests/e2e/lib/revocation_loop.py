#!/usr/bin/python3
"""Summarises a send_loop.py run around a revocation, as one JSON object on stdout.

usage: revocation_loop.py LOOP-OUT CLI_RETURN_NS REASON

LOOP-OUT is send_loop.py's --out (one JSON line per SMTP session); CLI_RETURN_NS the moment
the revoking CLI returned; REASON the reason code of the refusal that counts (550 with
"agentgate: REASON:"). Times are ms relative to the CLI's return. Used by revocation_test.sh
(one MTA) and scaleout_test.sh (across MTAs).
"""
import json
import sys

path, ret, reason = sys.argv[1], int(sys.argv[2]), sys.argv[3]
msgs = sorted((json.loads(l) for l in open(path) if l.strip()), key=lambda m: m["start_ns"])
want = f"agentgate: {reason}:"
acc = lambda m: m["stage"] == "data" and m["code"] == 250  # noqa: E731
hit = lambda m: m["code"] == 550 and want in m["text"]  # noqa: E731
ms = lambda ns: round(ns / 1e6, 2)  # noqa: E731
before = [m for m in msgs if m["start_ns"] < ret]
after = [m for m in msgs if m["start_ns"] >= ret]
first = next((m for m in msgs if hit(m)), None)
accepted = [m for m in msgs if acc(m)]
print(json.dumps({
    "total": len(msgs),
    "before": len(before),
    "after": len(after),
    "accepted_before": sum(map(acc, before)),
    "accepted_after": sum(map(acc, after)),
    "accepted_after_1s": sum(1 for m in after if acc(m) and m["start_ns"] >= ret + 1_000_000_000),
    "inflight_accepted": sum(1 for m in before if acc(m) and m["end_ns"] >= ret),
    "errors": [m["text"] for m in msgs if m["code"] == 0],
    "other_after": sorted({f'{m["code"]} {m["text"][:90]}' for m in after
                           if not acc(m) and not hit(m)}),
    "not_accepted_before": sorted({f'{m["code"]} {m["text"][:90]}' for m in before
                                   if not acc(m) and not hit(m)}),
    "period_ms": ms((msgs[-1]["start_ns"] - msgs[0]["start_ns"]) / max(len(msgs) - 1, 1))
    if msgs else None,
    "first_reject_ms": ms(first["start_ns"] - ret) if first else None,
    "first_reject_end_ms": ms(first["end_ns"] - ret) if first else None,
    "last_accept_ms": ms(accepted[-1]["start_ns"] - ret) if accepted else None,
    "accepted_after_first_reject": sum(1 for m in accepted
                                       if first and m["start_ns"] > first["start_ns"]),
    "first_after": f'{after[0]["code"]} {after[0]["text"][:110]}' if after else None,
}))
