#!/usr/bin/python3
"""Interleaved benchmark rounds (docs/benchmarks.md); started by bench/run.

Every milter under test runs at once, on a unix and an inet socket each: the null libmilter
milter (default negotiation: the baseline), agentgated with full checks on the fixture's
registry over libmilter and over its native engine, OpenDKIM verifying RSA-2048 signatures from a key file, and a bare
epoll responder (the protocol's ceiling; it shows the load generator is not the bottleneck).
With --floor, also the latency floor: the responder with agentgated's thread layout and
protocol shape (two event loops, RCPT answered, body received) spending a fixed amount of CPU
at end of message ("floor-100us": 100 µs), which shows what latency any milter with that cost
per message gets on this machine; "fifo-100us" is the same responder taking end-of-message
work from one queue shared by both loops, oldest first (--fifo), which shows what a global run
queue would change.
Each round runs, for every socket kind and concurrency, the same number of messages through
every milter back to back, so ratios compare runs a few seconds apart. agentgated gets a
corpus of freshly signed, never used proofs for each run (90 % valid, 5 % tampered: reject,
5 % untrusted inbound: quarantine). Prints the table and writes results.json to --out.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MILTERS = ("null", "agentgated", "agentgated-native", "opendkim", "responder")
ROOT = os.path.dirname(HERE)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def wait_socket(spec, pid, seconds=120):
    """Wait until spec (unix:/p or inet:PORT@HOST) accepts connections."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            raise SystemExit(f"the milter for {spec} (pid {pid}) exited while starting")
        try:
            if spec.startswith("unix:"):
                s = socket.socket(socket.AF_UNIX)
                s.connect(spec[5:])
            else:
                port, host = spec[5:].split("@")
                s = socket.create_connection((host, int(port)), timeout=1)
            s.close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{spec} did not accept connections within {seconds} s")


class Milters:
    def __init__(self, args, work):
        self.args, self.work, self.procs = args, work, []
        self.specs = {}  # (name, kind) -> (spec, pid)

    def spawn(self, name, kind, argv, spec, logfile, ready_line=None):
        path = os.path.join(self.work, logfile)
        out = open(path, "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        wait_socket(spec, p.pid)
        # agentgated listens before it has loaded the registry: wait for it, or the first runs
        # would share the CPU with the load
        deadline = time.time() + 300
        while ready_line and ready_line not in open(path).read():
            if time.time() > deadline or p.poll() is not None:
                raise SystemExit(f"{name} ({kind}) never became ready; see {path}")
            time.sleep(0.2)
        self.specs[(name, kind)] = (spec, p.pid)

    def agentgated_config(self, name, kind, spec, engine, store=None):
        path = os.path.join(self.work, f"{name}-{kind}.toml")
        store = store or f"sqlite://{self.work}/registry.db"
        with open(path, "w") as f:
            f.write(f"""[milter]
socket = "{spec}"
engine = "{engine}"
[control]
socket = "{self.work}/control-{name}-{kind}.sock"
metrics = ""
[store]
url = "{store}"
[policy]
agent_domains = ["agents.example.com"]
audience = "mta.bench.test"
gateway = "mta.bench.test"
require_proof = true
[events]
path = "{self.work}/events-{name}-{kind}.jsonl"
""")
        return path

    def start(self):
        a, w, b = self.args, self.work, self.args.build
        ports = iter(range(a.port, a.port + 20))
        for kind in ("unix", "inet"):
            def spec(name):
                return f"unix:{w}/{name}.sock" if kind == "unix" else f"inet:{next(ports)}@127.0.0.1"
            s = spec("null")
            self.spawn("null", kind, [f"{b}/bench/nullmilter/nullmilter", "-p", s, "-q"], s,
                       f"null-{kind}.log")
            for name, engine in (("agentgated", "libmilter"), ("agentgated-native", "native")):
                s = spec(name)
                conf = self.agentgated_config(name, kind, s, engine)
                self.spawn(name, kind, [f"{b}/milter/agentgated", "-c", conf, "--foreground"], s,
                           f"{name}-{kind}.log", ready_line=" ready on ")
            s = spec("opendkim")
            pid = int(subprocess.check_output(
                [f"{HERE}/opendkim/start.sh", f"{w}/opendkim-{kind}", s], text=True).split()[-1])
            self.opendkim_pids = getattr(self, "opendkim_pids", []) + [pid]
            self.specs[("opendkim", kind)] = (s, pid)
            s = spec("responder")
            self.spawn("responder", kind, [f"{b}/bench/milterload/milter_responder", "-p", s], s,
                       f"responder-{kind}.log")
            for floor in a.floor:
                name = floor_name(floor)
                s = spec(name)
                self.spawn(name, kind, [f"{b}/bench/milterload/milter_responder", "-p", s, "-t",
                                        "2", "--rcpt", "--body", "--work-us", str(floor[1])]
                           + (["--fifo"] if floor[0] else []), s, f"{name}-{kind}.log")

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
        for pid in getattr(self, "opendkim_pids", []):
            subprocess.call([f"{HERE}/opendkim/stop.sh", str(pid)])
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def parse_floor(entry):
    """ "300" -> (False, 300); "fifo-300" -> (True, 300): a --floor list entry."""
    fifo = entry.startswith("fifo-")
    return fifo, int(entry[5:] if fifo else entry)


def floor_name(floor):
    return f"{'fifo' if floor[0] else 'floor'}-{floor[1]}us"


def milterload(args, spec, pid, conns, count, corpus):
    argv = [f"{args.build}/bench/milterload/milterload", "-s", spec, "-c", str(conns), "-n",
            str(count), "--corpus", corpus, "--pid", str(pid), "--json"]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0 and not r.stdout.strip():
        raise SystemExit(f"milterload failed on {spec}: {r.stderr}")
    result = json.loads(r.stdout)
    if result["protocol_errors"] or result["connection_errors"]:
        raise SystemExit(f"milterload saw errors on {spec}: {r.stdout}")
    return result


def fixture_corpus(args, work, count, name):
    path = os.path.join(work, name)
    subprocess.run([f"{args.build}/bench/fixture/bench_fixture", "corpus", "--keys",
                    f"{work}/keys", "--messages", str(count), "--audience", "mta.bench.test",
                    "--out", path], check=True, stdout=subprocess.DEVNULL)
    return path


def summarize(results):
    """Medians and spreads per (kind, conns, milter), ratios against the null milter of the
    same round."""
    rows = {}
    for r in results:
        key = (r["kind"], r["conns"], r["milter"])
        base = next(x for x in results if x["round"] == r["round"] and x["kind"] == r["kind"]
                    and x["conns"] == r["conns"] and x["milter"] == "null")
        rows.setdefault(key, []).append((r["msgs_per_s"], r["msgs_per_s"] / base["msgs_per_s"],
                                         r["p99_us"], r["cpu_us"], r["p50_us"]))
    table = []
    for (kind, conns, milter), v in sorted(rows.items()):
        rate = [x[0] for x in v]
        ratio = [x[1] for x in v]
        table.append({"kind": kind, "conns": conns, "milter": milter,
                      "msgs_per_s": statistics.median(rate), "min": min(rate), "max": max(rate),
                      "x_null": statistics.median(ratio), "x_null_min": min(ratio),
                      "x_null_max": max(ratio), "p50_us": statistics.median(x[4] for x in v),
                      "p99_us": statistics.median(x[2] for x in v),
                      "cpu_us_per_msg": statistics.median(x[3] for x in v), "rounds": len(v)})
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", default="1,8,64")
    ap.add_argument("--kinds", default="unix,inet")
    ap.add_argument("--messages", type=int, default=20000, help="per run at c > 1")
    ap.add_argument("--messages-c1", type=int, default=4000, help="per run at c = 1")
    ap.add_argument("--port", type=int, default=4190)
    ap.add_argument("--floor", default="",
                    help="comma-separated CPU µs per message for the latency-floor responders; "
                         "fifo-N: the same with one shared end-of-message queue")
    args = ap.parse_args()
    args.floor = [parse_floor(w.strip()) for w in args.floor.split(",") if w.strip()]
    work = args.work
    dkim_corpus = os.path.join(work, "dkim-corpus.txt")
    subprocess.run([f"{HERE}/opendkim/sign_corpus.py", f"{work}/dkim/bench.private",
                    fixture_corpus(args, work, 2000, "dkim-source.txt"), dkim_corpus], check=True)
    milters = Milters(args, work)
    results = []
    try:
        t0 = time.time()
        milters.start()
        log(f"milters up in {time.time() - t0:.1f} s (agentgated loaded the registry)")
        for rnd in range(1, args.rounds + 1):
            for kind in args.kinds.split(","):
                for conns in (int(c) for c in args.conns.split(",")):
                    count = args.messages_c1 if conns == 1 else args.messages
                    corpus = fixture_corpus(args, work, count, "corpus.txt")
                    for milter in MILTERS + tuple(floor_name(w) for w in args.floor):
                        spec, pid = milters.specs[(milter, kind)]
                        if milter == "agentgated-native":  # fresh proofs for each agentgated
                            corpus = fixture_corpus(args, work, count, "corpus.txt")
                        r = milterload(args, spec, pid, conns, count,
                                       dkim_corpus if milter == "opendkim" else corpus)
                        row = {"round": rnd, "kind": kind, "conns": conns, "milter": milter,
                               "msgs_per_s": r["msgs_per_s"], "p50_us": r["latency_us"]["p50"],
                               "p99_us": r["latency_us"]["p99"],
                               "cpu_us": (r["milter"] or {}).get("cpu_us_per_msg", 0),
                               "rss_kib": (r["milter"] or {}).get("peak_rss_kib", 0),
                               "gen_cpu_us": r["generator"]["cpu_us_per_msg"],
                               "replies": r["final_replies"], "mods": r["modifications"]}
                        results.append(row)
                        log(f"round {rnd} {kind:4} c={conns:<3} {milter:17} "
                            f"{row['msgs_per_s']:8.0f} msgs/s  p50 {row['p50_us']:7.0f} µs  "
                            f"p99 {row['p99_us']:7.0f} µs  milter CPU {row['cpu_us']:6.0f} µs/msg")
    finally:
        milters.stop()
    table = summarize(results)
    with open(args.out, "w") as f:
        json.dump({"runs": results, "summary": table}, f, indent=1)
    print(f"{'socket':6} {'c':>3} {'milter':17} {'msgs/s':>8} {'(min-max)':>15} {'x null':>6} "
          f"{'(min-max)':>11} {'p50 µs':>7} {'p99 µs':>7} {'CPU µs/msg':>10}")
    for t in table:
        print(f"{t['kind']:6} {t['conns']:>3} {t['milter']:17} {t['msgs_per_s']:8.0f} "
              f"{t['min']:7.0f}-{t['max']:<7.0f} {t['x_null']:6.2f} "
              f"{t['x_null_min']:5.2f}-{t['x_null_max']:<5.2f} {t['p50_us']:7.0f} {t['p99_us']:7.0f} "
              f"{t['cpu_us_per_msg']:10.0f}")


if __name__ == "__main__":
    main()
