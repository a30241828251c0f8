#!/usr/bin/env bash
# selftest.sh: prove the OpenDKIM benchmark setup verifies for real, without DNS: make keys,
# write a 3-message corpus (LF, CRLF, LF), sign it, tamper with the body of message 3 after
# signing, start OpenDKIM on a unix socket and check with miltertest (verify.lua) that it adds
# Authentication-Results with dkim=pass for messages 1 and 2 and dkim=fail (or neutral /
# permerror) for message 3, and no result for the unsigned originals. Then a negative control:
# the same corpus against an OpenDKIM whose key file holds a different key must not pass.
# Exit 0 only if all of that holds.
# Usage: bench/opendkim/selftest.sh [--keep]   (--keep leaves the work directory)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
keep=0
[[ ${1:-} == --keep ]] && keep=1
for c in opendkim miltertest openssl ss; do
  command -v "$c" >/dev/null || {
    echo "selftest: $c missing (bench/lib/deps.sh)" >&2
    exit 1
  }
done

work=$(mktemp -d /tmp/agentgate-dkimtest.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do "$here/stop.sh" "$p" || true; done
  if ((keep)); then echo "selftest: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

"$here/keys.sh" "$work"

{
  cat <<'EOF'
#envelope from=<agent-1@agents.example.com> rcpt=<alice@example.net> login=agent-1
From: Agent One <agent-1@agents.example.com>
To: Alice <alice@example.net>
Subject: selftest message 1 (LF)
Date: Sat, 29 Nov 2025 12:00:00 +0000
Message-ID: <selftest-1@agents.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Alice,
this message is signed and must verify.

  indented line, trailing spaces   
#end

EOF
  sed 's/$/\r/' <<'EOF'
#envelope from=<agent-2@agents.example.com> rcpt=<bob@example.net>,<carol@example.org> login=agent-2
From: agent-2@agents.example.com
To: bob@example.net,
 carol@example.org
Subject: selftest message 2 (CRLF, folded To)
Date: Sat, 29 Nov 2025 12:00:01 +0000
Message-ID: <selftest-2@agents.example.com>

CRLF body line 1
CRLF body line 2
#end
EOF
  cat <<'EOF'
#envelope from=<agent-3@agents.example.com> rcpt=<dave@example.net>
From: agent-3@agents.example.com
To: dave@example.net
Subject: selftest message 3 (tampered after signing)
Date: Sat, 29 Nov 2025 12:00:02 +0000
Message-ID: <selftest-3@agents.example.com>

Please pay invoice 1000.
#end
EOF
} >"$work/plain.corpus"

/usr/bin/python3 "$here/sign_corpus.py" "$work/bench.private" "$work/plain.corpus" "$work/signed.corpus"
[[ $(grep -c '^DKIM-Signature:' "$work/signed.corpus") -eq 3 ]] || {
  echo "selftest: FAIL: signed corpus does not have 3 DKIM-Signature headers" >&2
  exit 1
}
# the signer keeps each message's line endings: every line of message 2 ends in CRLF, no other
if ! awk '/^#envelope/ { m++; inside = 1 }
  { cr = /\r$/; if (inside && m == 2 ? !cr : cr) bad++ }
  /^#end\r?$/ { inside = 0 }
  END { exit bad > 0 }' "$work/signed.corpus"; then
  echo "selftest: FAIL: line endings of the signed corpus differ from the input's" >&2
  exit 1
fi
sed 's/^Please pay invoice 1000\.$/Please pay invoice 9000./' "$work/signed.corpus" >"$work/tampered.corpus"
cmp -s "$work/signed.corpus" "$work/tampered.corpus" && {
  echo "selftest: FAIL: tampering did not change the corpus" >&2
  exit 1
}

pid=$("$here/start.sh" "$work" "unix:$work/opendkim.sock")
pids+=("$pid")
echo "selftest: opendkim pid $pid on unix:$work/opendkim.sock"
if ! miltertest -D "SOCK=unix:$work/opendkim.sock" -D "CORPUS=$work/tampered.corpus" \
  -D EXPECT=pass,pass,fail -s "$here/verify.lua"; then
  echo "selftest: FAIL: OpenDKIM results differ from pass,pass,fail (log: $work/opendkim.log)" >&2
  exit 1
fi
# the unsigned originals carry no verdict at all
if ! miltertest -D "SOCK=unix:$work/opendkim.sock" -D "CORPUS=$work/plain.corpus" \
  -D EXPECT=none,none,none -s "$here/verify.lua"; then
  echo "selftest: FAIL: an unsigned message got a DKIM result" >&2
  exit 1
fi

# Negative control: the public key file names another key, so nothing may pass.
mkdir -p "$work/other"
"$here/keys.sh" "$work/other"
pid2=$("$here/start.sh" "$work/other" "unix:$work/other/opendkim.sock")
pids+=("$pid2")
if ! miltertest -D "SOCK=unix:$work/other/opendkim.sock" -D "CORPUS=$work/tampered.corpus" \
  -D EXPECT=fail,fail,fail -s "$here/verify.lua"; then
  echo "selftest: FAIL: with the wrong public key, a message did not fail" >&2
  exit 1
fi
echo "selftest: OK: OpenDKIM verifies the signed corpus from the key file (pass,pass,fail; wrong key: fail)"
