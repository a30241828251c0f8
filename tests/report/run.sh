#!/usr/bin/env bash
# run.sh BIN_DIR: `agentgatectl report` end to end, rendered by a real browser. Builds a store
# (identities through the approval flow, one expiring in 3 days, held quarantine rows), writes a
# fixture events.jsonl (every action over several days, a hostile subject), runs the report and
# loads it in headless Chromium: the DOM has the charts with the right totals and bar counts,
# the hostile subject is text (no <script> element), the tables list the expiring identity and
# the held items, nothing is fetched from elsewhere, and a screenshot renders.
# Prints PASS/FAIL per check and, last, exactly "N passed, M failed".
# Env: KEEP=1 keeps the scratch dir; REPORT_PNG=FILE copies the screenshot there.
set -euo pipefail
BIN=$(cd "${1:?usage: run.sh BIN_DIR}" && pwd)
H=$(mktemp -d /tmp/agentgate-report.XXXXXX)
trap '[[ ${KEEP:-} ]] || rm -rf "$H"' EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; [[ -n ${2:-} ]] && sed 's/^/      /' <<<"$2" | head -20; }

cat >"$H/agentgate.toml" <<TOML
[control]
socket = "$H/control.sock"
metrics = ""
[store]
url = "sqlite://$H/registry.db"
[policy]
agent_domains = ["agents.example.com"]
[governance]
ig_reviewers = ["alice"]
security_officers = ["soc-lead"]
[events]
path = "$H/events.jsonl"
TOML
ctl() { "$BIN/cli/agentgatectl" -c "$H/agentgate.toml" "$@"; }
ctl init >/dev/null
# make ID EXPIRES: an active identity, through request and both approvals.
mkid() {
  ctl identity request "$1" --inbox "$1@agents.example.com" --purpose "report test" \
    --business-owner bob --system-owner carol --actions receive --accept-from @example.com \
    --expires "$2" --revocation-trigger "retired" --actor dave >/dev/null 2>&1
  ctl identity approve "$1" --role owner --actor bob >/dev/null 2>&1
  ctl identity approve "$1" --role ig --actor alice >/dev/null 2>&1
}
mkid intake-bot 90d
mkid sales-bot 90d
mkid shortlived-bot 3d
mkid idle-bot 90d
if [[ $(ctl --json identity list --status active | jq length) == 4 ]]; then
  ok "four active identities through the approval flow"
else bad "four active identities through the approval flow" "$(ctl identity list 2>&1)"; fi

# events.jsonl: decisions over six days; intake-bot, sales-bot and shortlived-bot are seen,
# idle-bot never is (dormant). A release record is not a decision and must not be counted.
ts() { date -u -d "$1" +%Y-%m-%dT%H:%M:%S.000Z; }
ev() { # ev WHEN ACTION AGENT RECIPIENT_IDENTITY SUBJECT REASON...
  local when=$1 action=$2 agent=$3 rcpt=$4 subject=$5
  shift 5
  jq -cn --arg t "$(ts "$when")" --arg a "$action" --arg g "$agent" --arg r "$rcpt" \
    --arg s "$subject" '{"@timestamp": $t, event: {id: ($t + $a), kind: "event", action: $a},
      email: {subject: $s}, gen_ai: {agent: {id: $g}},
      agentgate: {reasons: $ARGS.positional,
                  recipient_identities: (if $r == "" then [] else [$r] end)}}' --args "$@"
}
{
  for d in 1 2 3 4 5 6; do
    ev "-$d days" accept sales-bot "" "quote $d"
    ev "-$d days -1 hour" accept "" intake-bot "hello $d"
  done
  ev "-1 days" reject sales-bot "" "bad" principal_mismatch
  ev "-2 days" reject sales-bot "" "bad" principal_mismatch proof_missing
  ev "-3 days" tempfail sales-bot "" "later" store_unavailable
  ev "-2 days" quarantine "" intake-bot "<script>alert(1)</script>" sender_not_trusted
  ev "-4 days" quarantine "" intake-bot "wire funds" sender_not_trusted
  ev "-5 days" accept shortlived-bot "" "status"
  jq -cn --arg t "$(ts "-1 days")" '{"@timestamp": $t, event: {action: "release"}}'
} >"$H/events.jsonl"
# 13 accept (12 + shortlived-bot) + 2 reject + 1 tempfail + 2 quarantine
TOTAL=18

now=$(date +%s)
q() { # q QID AGE_SECONDS SUBJECT
  sqlite3 "$H/registry.db" "INSERT INTO quarantine (mta_host, queue_id, at, identity, grant_id,
    task, mail_from, recipients, header_from, subject, message_id, reasons, event_id, context)
    VALUES ('mx1', '$1', $((now - $2)), 'intake-bot', '', '', 'mallory@untrusted.test',
    'intake-bot@agents.example.com', 'mallory@untrusted.test', '$3', '<m-$1@x>',
    'sender_not_trusted', 'e-$1', '{}')"
}
q 4QHELDOLD 345600 '<script>alert(1)</script>'
q 4QHELDNEW 3600 'wire funds'
q 4QRELEASED 7200 'released one'
sqlite3 "$H/registry.db" "UPDATE quarantine SET status = 'released' WHERE queue_id = '4QRELEASED'"

rc=0
out=$(ctl report --since 7d --dormant-days 14 --expiring-within 14d -o "$H/report.html" 2>&1) || rc=$?
if [[ $rc == 0 && -s $H/report.html ]]; then ok "report -o writes the page"
else bad "report -o writes the page" "rc=$rc $out"; fi
if json=$(ctl --json report --since 7d) && jq -e --argjson t "$TOTAL" '.total == $t and
    .totals.quarantine == 2 and .quarantine.held == 2 and .quarantine.oldest[0].queue_id == "4QHELDOLD"
    and (.expiring_identities | map(.id) == ["shortlived-bot"])
    and (.dormant_identities | map(.id) == ["idle-bot"])' <<<"$json" >/dev/null; then
  ok "report --json: totals, held queue oldest first, expiring and dormant identities"
else bad "report --json: totals, held queue oldest first, expiring and dormant identities" "$json"; fi
rc=0; out=$(ctl report --since yesterday-ish -o "$H/x.html" 2>&1) || rc=$?
if [[ $rc == 2 ]]; then ok "a bad --since is a usage error (rc 2)"; else bad "a bad --since is a usage error (rc 2)" "rc=$rc $out"; fi
rc=0; out=$(ctl report --events "$H/missing.jsonl" -o "$H/x.html" 2>&1) || rc=$?
if [[ $rc == 3 && ! -e $H/x.html ]]; then ok "an unreadable event log is rc 3 and writes nothing"
else bad "an unreadable event log is rc 3 and writes nothing" "rc=$rc $out"; fi

if grep -Eiq '(src|href)[[:space:]]*=[[:space:]]*["'\'']?[[:space:]]*(https?:)?//' "$H/report.html" ||
  grep -Eiq '@import|url\(' "$H/report.html"; then
  bad "the page references no external resources" "$(grep -Eio '.{30}(src|href|url|@import).{40}' "$H/report.html")"
else ok "the page references no external resources"; fi
if ! grep -qi '<script' "$H/report.html" && grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$H/report.html"; then
  ok "the hostile subject is escaped in the HTML"
else bad "the hostile subject is escaped in the HTML"; fi

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $CHROME ]]; then
  bad "chromium is installed (scripts/deps.sh)"
else
  ok "chromium is installed"
  chrome() {
    timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$H/chrome" \
      --no-first-run --disable-extensions "$@" 2>>"$H/chrome.log"
  }
  chrome --dump-dom "file://$H/report.html" >"$H/dom.html" || true
  if [[ -s $H/dom.html ]]; then ok "headless Chromium loads the page"
  else bad "headless Chromium loads the page" "$(tail -5 "$H/chrome.log")"; fi
  if out=$(python3 - "$H/dom.html" "$TOTAL" <<'PY' 2>&1
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.elems, self.text = [], [], {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elems.append((tag, a, list(self.stack)))
        self.stack.append((tag, a))
    def handle_startendtag(self, tag, attrs):
        self.elems.append((tag, dict(attrs), list(self.stack)))
    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
    def handle_data(self, data):
        for _, a in self.stack:
            if "id" in a:
                self.text[a["id"]] = self.text.get(a["id"], "") + data

p = P()
p.feed(open(sys.argv[1]).read())
total = int(sys.argv[2])
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)

svgs = {a.get("id"): a for t, a, _ in p.elems if t == "svg"}
for sid in ("chart-decisions", "chart-reasons", "chart-identities"):
    a = svgs.get(sid)
    check(a is not None, f"svg#{sid} exists")
    if a:
        check(a.get("role") == "img" and a.get("aria-label"), f"svg#{sid} role=img, aria-label")
check(svgs.get("chart-decisions", {}).get("data-total") == str(total), "chart-decisions data-total")
def bars(sid, action=None):
    return sum(int(a["data-count"]) for t, a, st in p.elems
               if t == "rect" and any(x[1].get("id") == sid for x in st)
               and (action is None or a.get("data-action") == action))
check(bars("chart-decisions") == total, f"decision bars sum to {total}: {bars('chart-decisions')}")
for action, n in (("accept", 13), ("reject", 2), ("tempfail", 1), ("quarantine", 2)):
    check(bars("chart-decisions", action) == n, f"{action} bars sum to {n}")
check(bars("chart-identities", "reject") == 2 and bars("chart-identities", "quarantine") == 2,
      "identity bars: 2 rejects (sales-bot), 2 quarantines (intake-bot)")
check(not any(t == "script" for t, _, _ in p.elems), "no <script> element in the DOM")
check("<script>alert(1)</script>" in p.text.get("table-held", ""), "hostile subject shown as text")
check("shortlived-bot" in p.text.get("table-expiring", ""), "expiring table lists shortlived-bot")
check("idle-bot" in p.text.get("table-dormant", ""), "dormant table lists idle-bot")
held = p.text.get("table-held", "")
check("4QHELDOLD" in held and "4QHELDNEW" in held and "4QRELEASED" not in held,
      "held table: the two held items, not the released one")
check(held.find("4QHELDOLD") < held.find("4QHELDNEW"), "held table: oldest first")
check(any(a.get("id") == "held-count" and a.get("data-count") == "2" for _, a, _ in p.elems),
      "held count 2")
if errors:
    print("\n".join(errors))
    sys.exit(1)
PY
  ); then ok "the DOM: charts with the right totals and bars, escaped subject, tables"
  else bad "the DOM: charts with the right totals and bars, escaped subject, tables" "$out"; fi

  (cd "$H" && chrome --screenshot="$H/report.png" --window-size=1280,2000 \
    --hide-scrollbars "file://$H/report.html" >/dev/null) || true
  size=$(stat -c %s "$H/report.png" 2>/dev/null || echo 0)
  if [[ $(head -c 8 "$H/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] &&
    ((size > 20000)); then
    ok "screenshot: a PNG of $size bytes"
    [[ -n ${REPORT_PNG:-} ]] && cp "$H/report.png" "$REPORT_PNG"
  else bad "screenshot: a PNG of non-trivial size" "size=$size $(tail -5 "$H/chrome.log")"; fi
fi

echo "$pass passed, $fail failed"
((fail == 0))
