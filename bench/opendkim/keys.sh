#!/usr/bin/env bash
# keys.sh OUTDIR: make the DKIM key pair of the benchmarks (selector "bench", domain
# example.com, RSA-2048). Writes OUTDIR/bench.private (PEM, PKCS#1, mode 0600), the signing key
# of sign_corpus.py, and OUTDIR/testkeys, the public key in the format of OpenDKIM's
# TestPublicKeys file: one line "bench._domainkey.example.com v=DKIM1;k=rsa;p=BASE64".
# A new pair every run; never touches DNS.
#
# Format of testkeys (libopendkim dkim-keys.c, dkim_get_key_file): the name, one run of
# whitespace, then the TXT record data up to the end of the line. The record has no spaces
# because the parser stops looking for the name/value separator at the first space run only.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"

readonly selector=bench domain=example.com
key=$out/bench.private
(umask 077 && openssl genrsa -traditional -out "$key" 2048 2>/dev/null)
pub=$(openssl rsa -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
if [[ -z $pub ]]; then
  echo "$0: could not derive the public key from $key" >&2
  exit 1
fi
printf '%s._domainkey.%s v=DKIM1;k=rsa;p=%s\n' "$selector" "$domain" "$pub" >"$out/testkeys"
chmod 644 "$out/testkeys"
