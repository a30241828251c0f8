# shellcheck shell=bash source-path=SCRIPTDIR
# sendmail.sh: run a private Sendmail (from the Debian .debs, extracted, never
# installed: it conflicts with postfix) in front of a milter, for the
# agentgate end-to-end tests.  Source it; it also pulls in common.sh
# (h_cleanup, sink_*, swaks_send).  Needs root, m4, libwrap0, sasl2-bin,
# util-linux (unshare) and network access to the Debian archive on first use.
#
# The daemon runs in a private UTS + mount namespace: the hostname there is
# $SM_HOSTNAME (an FQDN; with the machine's unqualified name every sendmail
# invocation sleeps 60 s) and ROOT/sm/sasl2 is bind-mounted over a Cyrus SASL
# config directory so Sendmail.conf is found without touching the system.
#
#   127.0.0.1:$SM_PORT (default 2530): SMTP, relays for 127.0.0.1 and for
#   SASL users (PLAIN LOGIN, sasldb; the milter sees {auth_authen}=USER,
#   no realm).  Next hop: smtp-sink on 127.0.0.1:$SINK_PORT.
# Layout: ROOT/sm/{etc,spool/mqueue,run,sasl2,sendmail.out,traffic.log}.
# Sendmail logs only to syslog (absent here): ROOT/sm/traffic.log (-X) holds
# the SMTP dialogue, ROOT/sm/sendmail.out the daemon's stdout/stderr.

_H_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$_H_LIBDIR/common.sh"

: "${SM_PORT:=2530}"
: "${SM_HOSTNAME:=sm.harness.test}"
: "${SM_CACHE:=/var/cache/agentgate-test/sendmail}"
: "${SM_TRAFFIC_LOG:=1}"     # 1: record the SMTP dialogue with -X (not for benchmarks)
: "${SM_SASL_BIND_TARGET:=}" # override the directory Sendmail.conf is mounted over

# sm_bin: print the path of the extracted sendmail binary; fails if it is
# not there yet (sm_setup and sm_fetch put it there).
sm_bin() {
	local bin=$SM_CACHE/root/usr/libexec/sendmail/sendmail
	if [[ ! -x $bin ]]; then
		h_err "$bin missing: run sm_fetch or sm_setup first"
		return 1
	fi
	printf '%s\n' "$bin"
}

# sm_fetch: make sure the extracted Sendmail is in $SM_CACHE/root (download
# sendmail-bin, sendmail-base, sendmail-cf with apt-get download and dpkg -x
# when missing; serialised with flock) and that its runtime needs (libwrap0,
# m4) are installed.
sm_fetch() {
	local bin=$SM_CACHE/root/usr/libexec/sendmail/sendmail rc=0 _sm_lock
	[[ -n ${_SM_FETCHED:-} && -x $bin ]] && return 0
	h_need_cmd flock dpkg apt-get || return 1
	mkdir -p "$SM_CACHE" || {
		h_err "cannot create $SM_CACHE"
		return 1
	}
	if [[ ! -x $bin ]]; then
		exec {_sm_lock}>"$SM_CACHE/.lock"
		flock -w 300 "$_sm_lock" || {
			h_err "timed out waiting for $SM_CACHE/.lock"
			exec {_sm_lock}>&-
			return 1
		}
		if [[ ! -x $bin ]]; then
			_sm_download || rc=$?
		fi
		exec {_sm_lock}>&-
		((rc == 0)) || return "$rc"
	fi
	if ! command -v m4 >/dev/null 2>&1; then
		echo "sm_fetch: installing m4" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q m4 >&2 || {
			h_err "apt-get install m4 failed"
			return 1
		}
	fi
	if ldd "$bin" | grep -q 'not found'; then
		echo "sm_fetch: installing libwrap0 for sendmail" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q libwrap0 >&2 || true
		if ldd "$bin" | grep -q 'not found'; then
			h_err "sendmail still lacks shared libraries: $(ldd "$bin" | grep 'not found' | tr -s ' \t\n' ' ')"
			return 1
		fi
	fi
	_SM_FETCHED=1
}

# _sm_download: fetch and extract the .debs into $SM_CACHE/root (caller holds
# the lock).  Extracts into a temp dir and renames, so a half-done download is
# never mistaken for a cache.
_sm_download() {
	local tmp d rc=0
	tmp=$(mktemp -d "$SM_CACHE/dl.XXXXXX") || return 1
	# apt drops privileges to _apt for the download; let it write here.
	if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
	echo "sm_fetch: downloading sendmail .debs into $SM_CACHE" >&2
	if ! (cd "$tmp" && apt-get download -q sendmail-bin sendmail-base sendmail-cf) >"$tmp/download.log" 2>&1; then
		echo "sm_fetch: apt-get download failed; running apt-get update and retrying" >&2
		apt-get update -q >>"$tmp/download.log" 2>&1 || true
		(cd "$tmp" && apt-get download -q sendmail-bin sendmail-base sendmail-cf) >>"$tmp/download.log" 2>&1 || rc=$?
	fi
	if ((rc == 0)); then
		for d in "$tmp"/*.deb; do
			dpkg -x "$d" "$tmp/root" || rc=$?
		done
	fi
	if ((rc != 0)) || [[ ! -x $tmp/root/usr/libexec/sendmail/sendmail ]]; then
		h_err "could not download/extract sendmail; log:"
		h_indent <"$tmp/download.log"
		rm -rf "$tmp"
		return 1
	fi
	(cd "$tmp" && ls ./*.deb) >"$tmp/root/.debs"
	rm -rf "$SM_CACHE/root"
	mv "$tmp/root" "$SM_CACHE/root" && rm -rf "$tmp"
}

# _sm_env ROOT KEY: read a value saved by sm_setup.
_sm_env() {
	local k v
	while IFS='=' read -r k v; do
		[[ $k == "$2" ]] && {
			printf '%s\n' "$v"
			return 0
		}
	done <"$1/sm/harness.env"
	h_err "$2 not recorded in $1/sm/harness.env (was sm_setup run?)"
	return 1
}

# _sm_sasl_target: the Cyrus config directory to mount ROOT/sm/sasl2 over
# (must exist; Cyrus searches /etc/sasl2:/etc/sasl:<multiarch>/sasl2:/usr/lib/sasl2).
_sm_sasl_target() {
	local d
	if [[ -n $SM_SASL_BIND_TARGET ]]; then
		printf '%s\n' "$SM_SASL_BIND_TARGET"
		return 0
	fi
	for d in /etc/sasl2 /etc/sasl /usr/lib/sasl2; do
		[[ -d $d ]] && {
			printf '%s\n' "$d"
			return 0
		}
	done
	h_err "none of /etc/sasl2 /etc/sasl /usr/lib/sasl2 exists to mount Sendmail.conf over (mkdir /usr/lib/sasl2, or set SM_SASL_BIND_TARGET)"
	return 1
}

# sm_cmd ROOT ARGS...: run the private sendmail with -C ROOT's cf and ARGS in
# a private UTS namespace (FQDN hostname), e.g. `sm_cmd "$H" -bp`.
sm_cmd() {
	local root=${1:?sm_cmd ROOT ARGS...} bin host
	shift
	bin=$(sm_bin) && host=$(_sm_env "$root" SM_HOSTNAME) || return 1
	# shellcheck disable=SC2016 # $0/$@ belong to the inner sh
	unshare --uts -- sh -c 'hostname "$0" && exec "$@"' "$host" \
		"$bin" -C "$root/sm/etc/sendmail.cf" "$@"
}

# sm_setup ROOT MILTER_SOCKSPEC: fetch Sendmail if needed, write and compile
# ROOT/sm/etc/sendmail.mc (milter via INPUT_MAIL_FILTER with F=T: tempfail
# when the milter is unreachable), Sendmail.conf and the spool.  The spec is
# in libmilter syntax (unix:/path or inet:PORT@HOST; Postfix syntax is
# converted); use a unix socket, an inet milter costs ~44 ms per step here.
# SM_PORT, SINK_PORT and SM_HOSTNAME are read now and remembered.
sm_setup() {
	local root=${1:?sm_setup ROOT MILTER_SOCKSPEC} spec=${2:?sm_setup ROOT MILTER_SOCKSPEC}
	local sm=$root/sm cfdir out
	h_need_root && h_need_cmd unshare mount ldd || return 1
	spec=$(h_spec_libmilter "$spec") || return 1
	if [[ $root != /* ]]; then
		h_err "ROOT must be an absolute path: $root"
		return 1
	fi
	sm_fetch || return 1
	cfdir=$SM_CACHE/root/usr/share/sendmail/cf
	mkdir -p "$sm/etc" "$sm/spool/mqueue" "$sm/run" "$sm/sasl2" || return 1
	chmod 755 "$root" "$sm" "$sm/etc" "$sm/run" "$sm/spool" "$sm/sasl2" || return 1
	chmod 700 "$sm/spool/mqueue" || return 1
	printf 'SM_PORT=%s\nSINK_PORT=%s\nSM_HOSTNAME=%s\nMILTER=%s\n' \
		"$SM_PORT" "$SINK_PORT" "$SM_HOSTNAME" "$spec" >"$sm/harness.env"

	printf 'hosts files\naliases files\n' >"$sm/etc/service.switch"
	printf 'postmaster: root\nMAILER-DAEMON: root\n' >"$sm/etc/aliases"
	: >"$sm/etc/local-host-names"
	: >"$sm/etc/statistics"
	if [[ -f $SM_CACHE/root/etc/mail/helpfile ]]; then
		cp "$SM_CACHE/root/etc/mail/helpfile" "$sm/etc/helpfile"
	else
		: >"$sm/etc/helpfile"
	fi

	# m4 quoting: `...' ; $h below is Sendmail's, not the shell's.
	cat >"$sm/etc/sendmail.mc" <<EOF
divert(-1)
# Private Sendmail of the agentgate e2e harness (generated by sm_setup).
divert(0)dnl
VERSIONID(\`agentgate e2e harness')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl
dnl  QUEUE_DIR, HELP_FILE, STATUS_FILE: the conf* spellings are silently ignored
define(\`QUEUE_DIR', \`$sm/spool/mqueue')dnl
define(\`HELP_FILE', \`$sm/etc/helpfile')dnl
define(\`STATUS_FILE', \`$sm/etc/statistics')dnl
define(\`confPID_FILE', \`$sm/run/sendmail.pid')dnl
define(\`confSERVICE_SWITCH_FILE', \`$sm/etc/service.switch')dnl
define(\`confCW_FILE', \`-o $sm/etc/local-host-names')dnl
define(\`confCT_FILE', \`-o $sm/etc/trusted-users')dnl
define(\`ALIAS_FILE', \`$sm/etc/aliases')dnl
dnl  the harness lives under the world-writable, sticky /tmp
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confDELIVERY_MODE', \`background')dnl
dnl  a busy 2-core CI box must not make sendmail queue or refuse mail
define(\`confQUEUE_LA', \`1000')dnl
define(\`confREFUSE_LA', \`2000')dnl
define(\`confDELAY_LA', \`0')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
define(\`confMILTER_MACROS_EOM', \`{msg_id}, i, {auth_type}, {auth_authen}')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
FEATURE(\`nocanonify')dnl
dnl  no DNS here: sender domains like example.com cannot be resolved (553 5.1.8)
FEATURE(\`accept_unresolvable_domains')dnl
dnl  otherwise an MSA listens on *:587
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA-harness')dnl
INPUT_MAIL_FILTER(\`harness', \`S=$spec, F=T, T=C:10s;S:10s;R:10s;E:30s')dnl
MAILER(\`smtp')dnl
EOF
	if ! out=$(m4 -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$sm/etc/sendmail.mc" 2>&1 >"$sm/etc/sendmail.cf"); then
		h_err "m4 failed on $sm/etc/sendmail.mc: $out"
		return 1
	fi
	[[ -z $out ]] || h_warn "m4 said: $out"
	chmod 644 "$sm/etc/sendmail.mc" "$sm/etc/sendmail.cf"

	cat >"$sm/sasl2/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $sm/sasl2/sasldb2
EOF
	# Sendmail reports .cf errors as "FILE: line N: ..." (rc 70 or 0).
	if ! out=$(sm_cmd "$root" -bt </dev/null 2>&1) || grep -qE 'line [0-9]+: |readcf' <<<"$out"; then
		h_err "sendmail rejects $sm/etc/sendmail.cf:"
		h_indent <<<"$out"
		return 1
	fi
}

# sm_add_sasl_user ROOT USER PASSWORD: add USER (realm $SM_HOSTNAME) to the
# sasldb Sendmail uses; the milter sees {auth_authen}=USER.
sm_add_sasl_user() {
	local root=${1:?sm_add_sasl_user ROOT USER PASSWORD} user=${2:?sm_add_sasl_user ROOT USER PASSWORD}
	local pass=${3:?sm_add_sasl_user ROOT USER PASSWORD} host out
	h_need_cmd saslpasswd2 || return 1
	host=$(_sm_env "$root" SM_HOSTNAME) || return 1
	if ! out=$(printf '%s' "$pass" | saslpasswd2 -p -c -f "$root/sm/sasl2/sasldb2" -u "$host" "$user" 2>&1); then
		h_err "saslpasswd2 failed for $user: $out"
		return 1
	fi
	chmod 600 "$root/sm/sasl2/sasldb2"
}

# sm_start ROOT: start `sendmail -bD` (foreground daemon, tracked for
# h_cleanup) in a private UTS+mount namespace and wait for its port.
sm_start() {
	local root=${1:?sm_start ROOT} sm=${1}/sm bin host port target xopt=()
	h_need_root && sm_fetch || return 1
	bin=$(sm_bin) && host=$(_sm_env "$root" SM_HOSTNAME) && port=$(_sm_env "$root" SM_PORT) || return 1
	target=$(_sm_sasl_target) || return 1
	if [[ -f $sm/run/daemon.pid ]] && h_alive "$(<"$sm/run/daemon.pid")"; then
		h_err "sendmail of $root already runs (pid $(<"$sm/run/daemon.pid"))"
		return 1
	fi
	h_port_free "$port" || return 1
	[[ $SM_TRAFFIC_LOG == 1 ]] && xopt=(-X "$sm/traffic.log")
	# unshare without --fork execs: the pid below is sendmail itself.
	# shellcheck disable=SC2016 # $0..$@ belong to the inner sh
	h_spawn "$sm/sendmail.out" unshare --uts --mount -- sh -c \
		'hostname "$0" && mount --bind "$1" "$2" && shift 2 && exec "$@"' \
		"$host" "$sm/sasl2" "$target" \
		"$bin" -bD -C "$sm/etc/sendmail.cf" "${xopt[@]}"
	echo "$H_LAST_PID" >"$sm/run/daemon.pid"
	if ! h_wait_tcp "$port" 10 "$H_LAST_PID"; then
		h_err "sendmail did not start; $sm/sendmail.out:"
		h_indent <"$sm/sendmail.out"
		return 1
	fi
}

# sm_stop ROOT: stop the daemon started by sm_start (no-op if not running).
sm_stop() {
	local root=${1:?sm_stop ROOT} pidf=${1}/sm/run/daemon.pid
	[[ -f $pidf ]] || return 0
	h_stop_pids "$(<"$pidf")"
	rm -f "$pidf"
}

# sm_quarantined ROOT: print one line "ID<TAB>REASON" per quarantined
# message (from `sendmail -bp -qQ`); prints nothing if there is none.
sm_quarantined() {
	local root=${1:?sm_quarantined ROOT} out
	out=$(sm_cmd "$root" -bp -qQ 2>&1) || {
		h_err "sendmail -bp -qQ failed: $out"
		return 1
	}
	awk '
		/^[A-Za-z0-9]+[*X-]?[ \t]/ && $1 !~ /^-/ { id = $1; sub(/[^A-Za-z0-9]+$/, "", id); next }
		/^[ \t]+QUARANTINE:/ && id != "" {
			r = $0; sub(/^[ \t]+QUARANTINE:[ \t]*/, "", r); print id "\t" r; id = ""
		}' <<<"$out"
}

_sm_check_id() {
	if [[ ! ${1:-} =~ ^[A-Za-z0-9]+$ ]]; then
		h_err "bad queue id '${1:-}'"
		return 1
	fi
}

# sm_quarantine ROOT ID REASON: quarantine the queued message ID by hand
# (qf -> hf), as a milter's smfi_quarantine would.
sm_quarantine() {
	local root=${1:?sm_quarantine ROOT ID REASON} id=${2:-} reason=${3:?sm_quarantine ROOT ID REASON} out
	_sm_check_id "$id" || return 1
	if ! out=$(sm_cmd "$root" -qI"$id" -Q"$reason" 2>&1) || [[ ! -f $root/sm/spool/mqueue/hf$id ]]; then
		h_err "quarantining $id failed: $out"
		return 1
	fi
}

# sm_release ROOT ID: un-quarantine ID (hf -> qf) and deliver it now (it is
# not passed through the milter again).
sm_release() {
	local root=${1:?sm_release ROOT ID} id=${2:-} q out
	_sm_check_id "$id" || return 1
	q=$root/sm/spool/mqueue
	[[ -f $q/hf$id ]] || {
		h_err "$id is not quarantined (no $q/hf$id)"
		return 1
	}
	if ! out=$(sm_cmd "$root" -qQ -qI"$id" -Q 2>&1) || [[ ! -f $q/qf$id ]]; then
		h_err "un-quarantining $id failed: $out"
		return 1
	fi
	if ! out=$(sm_cmd "$root" -qI"$id" 2>&1); then
		h_err "delivering $id failed: $out"
		return 1
	fi
}

# sm_delete ROOT ID: delete a queued or quarantined message: its control file
# (qf or hf) and data/transcript files, under the control file's lock so a
# running queue runner is not disturbed.  Fails if ID is not in the queue.
sm_delete() {
	local root=${1:?sm_delete ROOT ID} id=${2:-} q ctl
	_sm_check_id "$id" || return 1
	q=$root/sm/spool/mqueue
	for ctl in "$q/hf$id" "$q/qf$id" "$q/Qf$id"; do
		[[ -f $ctl ]] && break
	done
	if [[ ! -f $ctl ]]; then
		h_err "$id is not in $q"
		return 1
	fi
	if ! flock -n "$ctl" rm -f "$ctl" "$q/df$id" "$q/xf$id"; then
		h_err "$ctl is locked (being delivered?)"
		return 1
	fi
}
