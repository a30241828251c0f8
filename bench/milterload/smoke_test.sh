#!/usr/bin/env bash
# smoke_test.sh MILTERLOAD MILTER_RESPONDER NULLMILTER: milterload drives milter_responder and
# the libmilter nullmilter over unix sockets in a scratch directory. Each of 2000 messages
# (4 connections) must get a final "continue" with no protocol or connection error; a 3-message
# corpus must reach a verbose nullmilter with its {auth_authen}, null sender and queue ids;
# a run against a socket nobody listens on must fail (exit 1, connection errors counted); the
# latency-floor responder (2 loops, RCPT and body, --work-us 300) must answer everything and
# cost at least its 300 µs of CPU per message, and so must the same with --fifo, which must also
# have ended every message from its shared queue, some of them on the other loop.
# Every process started here is stopped on exit.
set -euo pipefail

milterload=$1
responder=$2
nullmilter=$3
work=$(mktemp -d)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

wait_for_socket() {
  for _ in $(seq 100); do
    [[ -S $1 ]] && return 0
    sleep 0.1
  done
  fail "no socket $1"
}

# check_run JSON_FILE MESSAGES: all messages answered "continue", no errors.
check_run() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
replies = report["final_replies"]
others = {k: v for k, v in replies.items() if k != "continue" and v}
problems = []
if report["messages"] != want: problems.append(f"messages {report['messages']} != {want}")
if report["protocol_errors"] != 0: problems.append(f"protocol errors {report['protocol_errors']}")
if report["connection_errors"] != 0: problems.append(f"connection errors {report['connection_errors']}")
if replies["continue"] != want or others: problems.append(f"final replies {replies}")
if problems: sys.exit(f"{sys.argv[1]}: " + "; ".join(problems))
print(f"ok: {sys.argv[1]}: {report['messages']} messages, {report['msgs_per_s']:.0f} msgs/s")
EOF
}

"$responder" -p "unix:$work/responder.sock" &
pids+=($!)
"$responder" -p "unix:$work/floor.sock" -t 2 --rcpt --body --work-us 300 &
floor_pid=$!
pids+=($floor_pid)
"$responder" -p "unix:$work/fifo.sock" -t 2 --rcpt --body --work-us 300 --fifo \
  2>"$work/fifo.log" &
fifo_pid=$!
pids+=($fifo_pid)
"$nullmilter" -p "unix:$work/null.sock" -q &
pids+=($!)
"$nullmilter" -p "unix:$work/verbose.sock" 2>"$work/verbose.log" &
pids+=($!)
wait_for_socket "$work/responder.sock"
wait_for_socket "$work/floor.sock"
wait_for_socket "$work/fifo.sock"
wait_for_socket "$work/null.sock"
wait_for_socket "$work/verbose.sock"

for milter in responder null; do
  "$milterload" -s "unix:$work/$milter.sock" -c 4 -n 2000 --json >"$work/$milter.json" ||
    fail "milterload against $milter exited $?"
  check_run "$work/$milter.json" 2000
done

for floor in floor fifo; do
  pid_var=${floor}_pid
  "$milterload" -s "unix:$work/$floor.sock" -c 4 -n 2000 --pid "${!pid_var}" --json \
    >"$work/$floor.json" || fail "milterload against the $floor responder exited $?"
  check_run "$work/$floor.json" 2000
  /usr/bin/python3 - "$work/$floor.json" "$floor" <<'EOF' || fail "the $floor responder's cost"
import json, sys
r = json.load(open(sys.argv[1]))
cpu = r["milter"]["cpu_us_per_msg"]
assert cpu >= 300, f"milter CPU {cpu} µs/msg, below the 300 µs it was told to spend"
print(f"ok: the {sys.argv[2]} responder spends {cpu:.0f} µs of CPU per message")
EOF
done
# On SIGTERM it prints "2000 ends of message from the shared queue, K of them for another
# loop's connection": every message went through the queue, and the loops shared them.
kill "$fifo_pid"
wait "$fifo_pid" || fail "the fifo responder exited $? on SIGTERM"
counts=$(sed -n 's/.*: \([0-9]*\) ends of message from the shared queue, \([0-9]*\) of.*/\1 \2/p' \
  "$work/fifo.log")
read -r queued foreign <<<"${counts:-none 0}"
[[ $queued == 2000 ]] || fail "fifo responder: $queued ends of message from its queue: $(cat "$work/fifo.log")"
((foreign > 0)) || fail "fifo responder: no message was ended by the other loop"
echo "ok: the fifo responder ended all 2000 messages from its queue, $foreign on the other loop"

cat >"$work/corpus.txt" <<'EOF'
#envelope from=<agent-1@agents.example> rcpt=<bob@example.org>,<carol@example.net> login=agent-1
From: Agent One <agent-1@agents.example>
To: bob@example.org, carol@example.net
Subject: folded
 subject line
Message-ID: <m1@agents.example>

Hello Bob and Carol.
#end
#envelope from=<> rcpt=<postmaster@example.org> login=
From: MAILER-DAEMON@example.org
Subject: bounce

#end
#envelope from=<x@y.example> rcpt=<z@w.example>
Subject: no login at all

line 1
line 2
#end
EOF
"$milterload" -s "unix:$work/verbose.sock" --corpus "$work/corpus.txt" -c 2 -n 3 --json \
  >"$work/corpus.json" || fail "corpus run exited $?"
check_run "$work/corpus.json" 3
sleep 0.5  # the verbose nullmilter logs "close" after the last reply
grep -q "mail from=<agent-1@agents.example> auth_type=PLAIN auth_authen=agent-1" \
  "$work/verbose.log" || fail "no {auth_authen} at MAIL: $(cat "$work/verbose.log")"
grep -q "mail from=<> auth_type=- auth_authen=-" "$work/verbose.log" ||
  fail "null sender not seen: $(cat "$work/verbose.log")"
[[ $(grep -cE "eom qid=[0-9A-F]{12} " "$work/verbose.log") == 3 ]] ||
  fail "queue ids at end of message: $(cat "$work/verbose.log")"
echo "ok: corpus reached libmilter with its macros"

status=0
"$milterload" -s "unix:$work/nobody.sock" -n 10 --max-errors 3 --json >"$work/nobody.json" \
  2>/dev/null || status=$?
[[ $status == 1 ]] || fail "run without a milter exited $status, not 1"
/usr/bin/python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["connection_errors"] >= 3' \
  "$work/nobody.json" || fail "connection errors not counted"
echo "ok: a run without a milter fails"
