#!/usr/bin/env bash
# A 3-node Citus cluster on this machine for the tests (go tool task
# test:citus): a coordinator and two workers, each its own initdb data
# directory run as the postgres OS user, with Citus preloaded and
# wal_level=logical (for online citus_schema_move). Needs Citus installed
# (scripts/citus-build.sh).
#
#   scripts/citus-cluster.sh up     start it (initialising it the first time)
#   scripts/citus-cluster.sh down   stop it
#   scripts/citus-cluster.sh env    print TEST_DATABASE_URL, TEST_CITUS_WORKERS and
#                                   TEST_PLAIN_DATABASE_URL (a plain server beside it)
#
# Ports: CITUS_PORT (coordinator, default 25432) and the next two, below
# the ephemeral range (32768-60999) so that no client socket holds them.
set -euo pipefail

DIR=${CITUS_DIR:-/var/tmp/tenantctl-citus}
PORT=${CITUS_PORT:-25432}
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
nodes=("coordinator:$PORT" "worker1:$((PORT + 1))" "worker2:$((PORT + 2))")

as_postgres() {
	if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

case ${1:-} in
up)
	mkdir -p "$DIR"
	[[ $(id -u) -eq 0 ]] && chown postgres "$DIR"
	for n in "${nodes[@]}"; do
		name=${n%%:*} port=${n##*:}
		data=$DIR/$name
		if [[ ! -f $data/PG_VERSION ]]; then
			as_postgres "$BIN/initdb -D $data -U postgres -A trust -E UTF8 --locale=C >/dev/null"
			cat >>"$data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
shared_preload_libraries = 'citus'
wal_level = logical
max_connections = 300
fsync = off
CONF
		fi
		if ! as_postgres "$BIN/pg_ctl -D $data status" >/dev/null 2>&1; then
			as_postgres "$BIN/pg_ctl -D $data -l $DIR/$name.log -w start >/dev/null"
		fi
	done
	echo "citus cluster up: coordinator 127.0.0.1:$PORT, workers 127.0.0.1:$((PORT + 1)) 127.0.0.1:$((PORT + 2))"
	;;
down)
	for n in "${nodes[@]}"; do
		data=$DIR/${n%%:*}
		[[ -f $data/PG_VERSION ]] && as_postgres "$BIN/pg_ctl -D $data -m fast -w stop" >/dev/null 2>&1 || true
	done
	;;
env)
	echo "TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
	echo "TEST_CITUS_WORKERS=127.0.0.1:$((PORT + 1)),127.0.0.1:$((PORT + 2))"
	# A plain PostgreSQL next to the cluster: tenant export tests read from it.
	echo "TEST_PLAIN_DATABASE_URL=${TEST_PLAIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
	;;
*)
	echo "usage: $0 up|down|env" >&2
	exit 2
	;;
esac
