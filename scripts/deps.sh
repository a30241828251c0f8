#!/usr/bin/env bash
# Installs every package agentgate needs to build, test and run its demo on Debian 12.
# Idempotent: skips apt-get entirely when everything is already present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # build
  g++ cmake ninja-build pkg-config libssl-dev libfmt-dev doctest-dev libsqlite3-dev
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libpq-dev libmilter-dev libboost-dev
  libsystemd-dev clang-format
  # install test: unit verification, man page rendering (tests/install)
  systemd groff-base man-db
  # tests and demo: real MTAs and their tools
  postfix swaks miltertest sasl2-bin libsasl2-modules m4 libwrap0 iproute2 util-linux
  sqlite3 jq procps
  # the shared store's tests: a private PostgreSQL 15 cluster per test (tests/pg/cluster.sh)
  postgresql-15 postgresql-client-15
  # report test: renders the HTML report headless (tests/report)
  chromium
  # independent implementations the interop tests compare against; libFuzzer toolchain
  python3 python3-jwt python3-cryptography python3-dkim clang-14 libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "agentgate: installing ${missing[*]}"
  # Postfix must not configure itself as the system MTA: the tests run private instances.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Nor may PostgreSQL create and start a system cluster: the tests initdb their own.
  mkdir -p /etc/postgresql-common
  [[ -e /etc/postgresql-common/createcluster.conf ]] ||
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
