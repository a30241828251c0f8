#!/usr/bin/env bash
# deps.sh: the Debian 12 packages the benchmark scripts under bench/ need at run time, and
# bench_deps, which installs the missing ones. Source it and call bench_deps, or run it.
# Idempotent: apt-get is not touched when everything is present. Never configures Postfix as
# the system MTA (the benchmarks run private instances); needs root only when installing.

BENCH_PACKAGES=(
  # bench/opendkim: the reference DKIM verifier, the corpus signer, the milter-protocol client
  opendkim python3 python3-dkim miltertest openssl
  # bench/postfix: private Postfix, smtp-source/smtp-sink (in the postfix package), and what
  # tests/e2e/lib/postfix.sh uses (ss, script, runuser)
  postfix iproute2 util-linux bsdutils
)

# bench_deps: install every package of BENCH_PACKAGES that is not installed yet.
bench_deps() {
  local p missing=()
  for p in "${BENCH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench_deps: must be root to install: ${missing[*]}" >&2
    return 1
  fi
  echo "bench_deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  bench_deps
fi
