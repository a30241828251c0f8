#!/usr/bin/python3
"""What the shared store costs per message (docs/benchmarks.md, docs/scale-out.md); started by
bench/store under tests/pg/cluster.sh.

Two agentgated daemons with the native engine and full checks, one on a SQLite store and one
on PostgreSQL (the private cluster named by AGENTGATE_TEST_PG_URL), both holding the same
fixture registry; interleaved rounds of milterload at c = 8 over unix sockets, each run with a
freshly signed corpus. Reports msgs/s, p50/p99 and the milter's CPU per message per store, and
PostgreSQL's own CPU per message (its backends' CPU from /proc, over the PostgreSQL run).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rounds  # noqa: E402  (the shared helpers: wait_socket, milterload, fixture_corpus)


def pg_cpu_ticks():
    """CPU ticks (user + system) of every postgres process."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--identities", type=int, default=10000)
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--conns", type=int, default=8)
    args = ap.parse_args()
    pg_base = os.environ["AGENTGATE_TEST_PG_URL"]
    work, b = args.work, args.build
    subprocess.run(["psql", "-q", pg_base, "-c", "CREATE DATABASE bench"], check=True)
    pg_url = pg_base.rsplit("/", 1)[0] + "/bench"
    stores = {"sqlite": f"sqlite://{work}/registry.db", "postgresql": pg_url}
    fixture = f"{b}/bench/fixture/bench_fixture"
    for name, url in stores.items():  # the same identities; each store has its own grant keys
        store = f"{work}/registry.db" if name == "sqlite" else url
        subprocess.run([fixture, "registry", "--store", store, "--identities",
                        str(args.identities), "--senders", "1000", "--keys", f"{work}/keys-{name}"],
                       check=True, stdout=subprocess.DEVNULL)
    milters = rounds.Milters(args, work)
    procs = {}
    results = []
    try:
        for name, url in stores.items():
            spec = f"unix:{work}/{name}.sock"
            conf = milters.agentgated_config(name, "unix", spec, "native", store=url)
            milters.spawn(name, "unix", [f"{b}/milter/agentgated", "-c", conf, "--foreground"],
                          spec, f"{name}.log", ready_line=" ready on ")
            procs[name] = milters.specs[(name, "unix")]
        for rnd in range(1, args.rounds + 1):
            for name in stores:
                corpus = corpus_for(fixture, work, f"keys-{name}", args.messages)
                spec, pid = procs[name]
                before = pg_cpu_ticks()
                r = rounds.milterload(args, spec, pid, args.conns, args.messages, corpus)
                pg_us = (pg_cpu_ticks() - before) * 1e6 / os.sysconf("SC_CLK_TCK") / args.messages
                row = {"round": rnd, "store": name, "msgs_per_s": r["msgs_per_s"],
                       "p50_us": r["latency_us"]["p50"], "p99_us": r["latency_us"]["p99"],
                       "cpu_us": r["milter"]["cpu_us_per_msg"], "pg_cpu_us": pg_us,
                       "replies": r["final_replies"]}
                results.append(row)
                rounds.log(f"round {rnd} {name:10} {row['msgs_per_s']:7.0f} msgs/s  p50 "
                           f"{row['p50_us']:6.0f} µs  p99 {row['p99_us']:6.0f} µs  agentgated "
                           f"{row['cpu_us']:5.0f} µs/msg  postgres {pg_us:5.0f} µs/msg")
    finally:
        milters.stop()
    summary = {}
    for name in stores:
        rows = [r for r in results if r["store"] == name]
        summary[name] = {k: statistics.median(r[k] for r in rows)
                         for k in ("msgs_per_s", "p50_us", "p99_us", "cpu_us", "pg_cpu_us")}
    with open(args.out, "w") as f:
        json.dump({"runs": results, "summary": summary}, f, indent=1)
    print(f"{'store':10} {'msgs/s':>8} {'p50 µs':>7} {'p99 µs':>7} {'agentgated µs/msg':>18} "
          f"{'postgres µs/msg':>16}")
    for name, s in summary.items():
        print(f"{name:10} {s['msgs_per_s']:8.0f} {s['p50_us']:7.0f} {s['p99_us']:7.0f} "
              f"{s['cpu_us']:18.0f} {s['pg_cpu_us']:16.0f}")


def corpus_for(fixture, work, keys, count):
    path = os.path.join(work, "corpus.txt")
    subprocess.run([fixture, "corpus", "--keys", f"{work}/{keys}", "--messages", str(count),
                    "--audience", "mta.bench.test", "--out", path], check=True,
                   stdout=subprocess.DEVNULL)
    return path


if __name__ == "__main__":
    main()
