# shellcheck shell=bash
# pg.sh: the shared PostgreSQL store of the end-to-end tests that run under
# tests/pg/cluster.sh PORT -- TEST (a private PostgreSQL 15 cluster on loopback, trust auth,
# superuser `agentgate`; it exports AGENTGATE_TEST_PG_URL, PG_DATA, PG_BIN).  Source it after
# common.sh.  Functions return non-zero with "FUNC: ERROR: ..." on stderr when they fail.
#
#   pg_need                       the cluster's environment is there (else: how to get it)
#   pg_url USER DB                libpq URI of DB on the cluster, connecting as USER
#   pg_psql URL [PSQL-ARGS...]    psql -X -q -At -v ON_ERROR_STOP=1 on URL
#   pg_create_store DB            create database DB (owned by the cluster's superuser)
#   pg_milter_role DB             run lib/pg_milter_role.sql in DB (after agentgatectl init):
#                                 the restricted role agentgate_milter the daemons connect as
#   pg_cluster stop|start|restart stop/start the cluster under the running test

if [[ -n ${_H_PG_SH:-} ]]; then
	return 0
fi
_H_PG_SH=1

_H_PG_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_CLUSTER_SH=$(cd "$_H_PG_LIBDIR/../../pg" && pwd)/cluster.sh
PG_MILTER_ROLE_SQL=$_H_PG_LIBDIR/pg_milter_role.sql

pg_need() {
	local v missing=()
	for v in AGENTGATE_TEST_PG_URL PG_DATA PG_BIN; do
		[[ -n ${!v:-} ]] || missing+=("$v")
	done
	if ((${#missing[@]})); then
		h_err "${missing[*]} not set: run the test under $PG_CLUSTER_SH PORT -- ..." \
			"(it starts a private PostgreSQL 15 cluster; needs the postgresql-15 package)"
		return 1
	fi
	if [[ $AGENTGATE_TEST_PG_URL != postgresql://*@*/* ]]; then
		h_err "AGENTGATE_TEST_PG_URL '$AGENTGATE_TEST_PG_URL' is not postgresql://USER@HOST:PORT/DB"
		return 1
	fi
	h_need_cmd psql || return 1
}

# pg_url USER DB: AGENTGATE_TEST_PG_URL with its user and database replaced.
pg_url() {
	local rest=${AGENTGATE_TEST_PG_URL#postgresql://}
	rest=${rest#*@}
	printf 'postgresql://%s@%s/%s\n' "$1" "${rest%%/*}" "$2"
}

pg_psql() {
	local url=$1
	shift
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" "$@"
}

pg_create_store() {
	local db=${1:?pg_create_store DB} out
	if ! out=$(pg_psql "$AGENTGATE_TEST_PG_URL" -c "CREATE DATABASE \"$db\"" 2>&1); then
		h_err "CREATE DATABASE $db failed: $out"
		return 1
	fi
}

pg_milter_role() {
	local db=${1:?pg_milter_role DB} owner out
	owner=${AGENTGATE_TEST_PG_URL#postgresql://}
	owner=${owner%%@*}
	if ! out=$(pg_psql "$(pg_url "$owner" "$db")" -f "$PG_MILTER_ROLE_SQL" 2>&1); then
		h_err "$PG_MILTER_ROLE_SQL failed in database $db: $out"
		return 1
	fi
}

pg_cluster() {
	local out
	if ! out=$("$PG_CLUSTER_SH" ctl "$1" 2>&1); then
		h_err "$PG_CLUSTER_SH ctl $1 failed: $out"
		tail -n 10 "$PG_DATA/server.log" 2>/dev/null | h_indent
		return 1
	fi
}
