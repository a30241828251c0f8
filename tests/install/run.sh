#!/usr/bin/env bash
# `cmake --install` of a build: the files land where the layout says, with sane modes; the
# systemd unit verifies and keeps its hardening score; sysusers/tmpfiles create the user and
# directories; the man pages render without warnings; the installed daemon accepts the installed
# example config. Usage: tests/install/run.sh BUILD_DIR
#
# Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on any failure. A missing tool is a
# FAIL, never a skip. Needs root for the tmpfiles check (it chowns to the agentgate user).
#
# Notes on the systemd 252 tools (Debian 12):
# - `systemd-analyze verify` needs ExecStart's binary to exist, so it runs on a copy of the
#   installed unit whose ExecStart points into DESTDIR, with MANPATH set to DESTDIR's man pages
#   (verify also runs `man` for each Documentation= page). It prints nothing for this unit; any
#   output is a FAIL. (`systemd-analyze --root=DESTDIR verify` does not work: it looks for
#   /bin/kill and sysinit.target inside DESTDIR too.)
# - `systemd-analyze security --offline=yes` scores the installed unit file; 1.4 when written
#   (docs/operations.md, "systemd"). MAX_EXPOSURE (x10) guards against a regression.
# sed prefixes multi-line output for display (SC2001 is about single substitutions):
# shellcheck disable=SC2001
set -uo pipefail
if [[ $# -ne 1 || ! -f $1/CMakeCache.txt ]]; then
  echo "usage: $0 BUILD_DIR (a configured and built CMake build directory)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
MAX_EXPOSURE=14

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; [[ -z ${2:-} ]] || echo "$2" | sed 's/^/      /'; }
check() { # check DESCRIPTION command... : passes when the command succeeds
  local what=$1 out; shift
  if out=$("$@" 2>&1); then ok "$what"; else bad "$what" "$out"; return 1; fi
}
quiet() { # quiet DESCRIPTION command... : passes when the command succeeds and prints nothing
  local what=$1 out; shift
  if out=$("$@" 2>&1) && [[ -z $out ]]; then ok "$what"; else bad "$what" "$out"; return 1; fi
}

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=$T/dest

missing=0
for tool in cmake systemd-analyze systemd-sysusers systemd-tmpfiles groff lexgrog stat; do
  command -v "$tool" >/dev/null || { bad "tool $tool is installed (scripts/deps.sh)"; missing=1; }
done
((missing)) || ok "tools present"

# The layout the build was configured with (GNUInstallDirs caches the relative directories).
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
under_prefix() { [[ $2 == /* ]] && echo "$2" || echo "$1/$2"; }
prefix=$(cache CMAKE_INSTALL_PREFIX)
sbin=$(under_prefix "$prefix" "$(cache CMAKE_INSTALL_SBINDIR)")
mandir=$(cache CMAKE_INSTALL_MANDIR) datadir=$(cache CMAKE_INSTALL_DATAROOTDIR)
man=$(under_prefix "$prefix" "${mandir:-${datadir:-share}/man}")  # an empty MANDIR is DATAROOTDIR/man
sysconf=$(cache CMAKE_INSTALL_SYSCONFDIR)
if [[ $sysconf != /* ]]; then # GNUInstallDirs: /usr and / use /etc, /opt/X uses /etc/opt/X
  case $prefix in
    / | /usr) sysconf=/$sysconf ;;
    /opt/*) sysconf=/$sysconf$prefix ;;
    *) sysconf=$prefix/$sysconf ;;
  esac
fi
unit=$prefix/lib/systemd/system/agentgated.service
example=$sysconf/agentgate/agentgate.toml.example
echo "layout: prefix $prefix, sbin $sbin, man $man, config $sysconf"

check "cmake --install into DESTDIR" env DESTDIR="$D" cmake --install "$build"

# Every expected file with its mode, and nothing else.
declare -A want=(
  ["$sbin/agentgated"]=755 ["$sbin/agentgatectl"]=755 ["$example"]=644 ["$unit"]=644
  ["$prefix/lib/sysusers.d/agentgate.conf"]=644 ["$prefix/lib/tmpfiles.d/agentgate.conf"]=644
  ["$man/man8/agentgated.8"]=644 ["$man/man8/agentgatectl.8"]=644
  ["$man/man5/agentgate.toml.5"]=644
)
mapfile -t files < <(printf '%s\n' "${!want[@]}" | sort)
for f in "${files[@]}"; do
  mode=$(stat -c %a "$D$f" 2>/dev/null)
  if [[ $mode == "${want[$f]}" ]]; then ok "$f mode $mode"; else bad "$f mode ${mode:-missing}, want ${want[$f]}"; fi
done
extra=$(cd "$D" && find . -type f | sed 's/^\.//' | while read -r f; do [[ -n ${want[$f]:-} ]] || echo "$f"; done)
if [[ -z $extra ]]; then ok "nothing else installed"; else bad "unexpected files installed" "$extra"; fi
writable=$(find "$D" -type f -perm /022)
if [[ -z $writable ]]; then ok "no installed file is group- or world-writable"; else bad "group- or world-writable" "$writable"; fi

# The unit runs the binary this prefix installed.
exec_bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$D$unit")
if [[ $exec_bin == "$sbin/agentgated" && -x $D$exec_bin ]]; then ok "ExecStart is the installed $exec_bin"
else bad "ExecStart '$exec_bin' is not the installed $sbin/agentgated"; fi

mkdir -p "$T/unit"
sed "s|^ExecStart=$sbin/|ExecStart=$D$sbin/|" "$D$unit" >"$T/unit/agentgated.service"
quiet "systemd-analyze verify: no output" env MANPATH="$D$man" systemd-analyze verify "$T/unit/agentgated.service"
score=$(systemd-analyze security --offline=yes "$D$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
check "systemd-analyze security: exposure ${score:-unknown} <= $((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10))" \
  systemd-analyze security --offline=yes --threshold=$MAX_EXPOSURE "$D$unit"

# sysusers and tmpfiles, applied to a scratch root.
R=$T/root
mkdir -p "$R/etc"
if [[ $(id -u) != 0 ]]; then
  bad "sysusers/tmpfiles need root (tmpfiles chowns to the agentgate user)"
elif check "systemd-sysusers creates agentgate" systemd-sysusers --root="$R" "$D$prefix/lib/sysusers.d/agentgate.conf" &&
  check "systemd-tmpfiles creates the directories" systemd-tmpfiles --root="$R" --create "$D$prefix/lib/tmpfiles.d/agentgate.conf"; then
  IFS=: read -r _ _ uid gid _ home shell < <(grep '^agentgate:' "$R/etc/passwd")
  if [[ $home == /var/lib/agentgate && $shell == */nologin ]] && grep -q "^agentgate:x:$gid:" "$R/etc/group"; then
    ok "user agentgate: home $home, shell $shell, own group"
  else bad "user agentgate" "$(cat "$R/etc/passwd" "$R/etc/group")"; fi
  for d in "var/lib/agentgate 750 $uid:$gid" "var/log/agentgate 750 $uid:$gid" "etc/agentgate 750 0:$gid"; do
    read -r path mode owner <<<"$d"
    got=$(stat -c '%a %u:%g' "$R/$path" 2>/dev/null)
    if [[ $got == "$mode $owner" ]]; then ok "/$path $got"; else bad "/$path is '${got:-missing}', want '$mode $owner'"; fi
  done
fi

for page in man8/agentgated.8 man8/agentgatectl.8 man5/agentgate.toml.5; do
  quiet "groff -man -ww: $page renders without warnings" groff -man -Tutf8 -ww -z "$D$man/$page"
  check "lexgrog: $page has a NAME line" lexgrog "$D$man/$page"
done

check "installed agentgated --check-config accepts the installed example" \
  "$D$sbin/agentgated" -c "$D$example" --check-config
check "installed agentgatectl config check accepts it too" \
  "$D$sbin/agentgatectl" -c "$D$example" config check

echo "$pass passed, $fail failed"
((fail == 0))
