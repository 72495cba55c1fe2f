#!/usr/bin/env bash
# scripts/dev.sh — the one command behind `go tool task dev`.
#
# Brings the product up locally with the demo tenants:
#   1. a database: DATABASE_URL (environment, then .env, then the built-in
#      default) when it is reachable, creating its database if the server allows;
#      otherwise a throwaway PostgreSQL cluster started from the local server
#      binaries under .dev/pg (as the `postgres` OS user when run as root),
#      stopped again when this script exits;
#   2. builds .dev/tenantctl once, then runs `migrate`, `demo` and `serve`.
#
# Knobs (all optional):
#   DATABASE_URL    use this database instead of the default
#   DEV_PG_PORT     first port to try for the throwaway cluster (default 54329)
#   PG_BIN          directory holding initdb/pg_ctl/postgres (default: searched)
#   DEV_FORCE_LOCAL_PG=1   skip DATABASE_URL and always use the throwaway cluster
#
# Reset everything the throwaway cluster holds with: rm -rf .dev
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DEFAULT_DATABASE_URL='postgres://postgres:postgres@localhost:5432/tenants?sslmode=disable'
DEV_DIR="$ROOT/.dev"
BIN="$DEV_DIR/tenantctl"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m==>\033[0m %s\n' "$*" >&2; }
die() {
	printf '\033[1;31mdev:\033[0m %s\n' "$*" >&2
	exit 1
}
# No colours when stderr is not a terminal (CI logs, pipes).
if [[ ! -t 2 ]]; then
	say() { printf '==> %s\n' "$*" >&2; }
	warn() { printf '==> WARNING: %s\n' "$*" >&2; }
	die() {
		printf 'dev: %s\n' "$*" >&2
		exit 1
	}
fi

# dotenv_get KEY prints KEY from .env (last assignment wins), the way the
# binary's own .env reader understands it: optional "export ", optional quotes.
dotenv_get() {
	local key=$1 line val=""
	[[ -f .env ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		line="${line#"${line%%[![:space:]]*}"}"
		line="${line#export }"
		if [[ $line == "$key="* ]]; then
			val="${line#"$key="}"
			val="${val%"${val##*[![:space:]]}"}"
			if [[ ${#val} -ge 2 && ( ${val:0:1} == '"' || ${val:0:1} == "'" ) && ${val: -1} == "${val:0:1}" ]]; then
				val="${val:1:${#val}-2}"
			fi
		fi
	done <.env
	printf '%s' "$val"
}

# setting KEY prints the value the binary will see: environment first, then .env.
setting() {
	local key=$1
	if [[ -n ${!key+x} ]]; then
		printf '%s' "${!key}"
	else
		dotenv_get "$key"
	fi
}

# url_db URL prints the database name of a postgres:// URL ("" if it has none).
url_db() {
	local rest=${1#*://}
	rest=${rest%%\?*}
	[[ $rest == */* ]] || return 0
	printf '%s' "${rest#*/}"
}

# url_with_db URL DB prints URL with its database replaced by DB.
url_with_db() {
	local url=$1 db=$2 query="" scheme rest
	if [[ $url == *\?* ]]; then
		query="?${url#*\?}"
		url=${url%%\?*}
	fi
	scheme=${url%%://*}
	rest=${url#*://}
	printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$db" "$query"
}

# can_connect URL: a full connection (server up, auth ok, database exists).
# -w: never prompt for a password; the timeout keeps a firewalled host from hanging us.
can_connect() {
	PGCONNECT_TIMEOUT=5 psql -w -X -q -d "$1" -Atc 'select 1' >/dev/null 2>&1
}

# try_database_url URL: succeeds when URL is usable, creating its database
# first if the server is up, the database is missing and we may create it.
try_database_url() {
	local url=$1 err db admin
	if ! command -v psql >/dev/null 2>&1; then
		# Without libpq's tools, a TCP connect is the best probe we have;
		# tenantctl migrate reports anything beyond that.
		local hostport=${url#*://}
		hostport=${hostport%%[/?]*}
		hostport=${hostport##*@}
		local host=${hostport%:*} port=5432
		[[ $hostport == *:* ]] && port=${hostport##*:}
		host=${host:-localhost}
		warn "psql not found (install postgresql-client for a real check); probing $host:$port over TCP"
		(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
		return
	fi
	if command -v pg_isready >/dev/null 2>&1 && ! PGCONNECT_TIMEOUT=5 pg_isready -q -d "$url" >/dev/null 2>&1; then
		return 1
	fi
	if can_connect "$url"; then
		return 0
	fi
	err=$(PGCONNECT_TIMEOUT=5 psql -w -X -q -d "$url" -Atc 'select 1' 2>&1 >/dev/null || true)
	db=""
	[[ $url == postgres*://* ]] && db=$(url_db "$url")
	if [[ -z $db || $err != *"database \"$db\" does not exist"* ]]; then
		warn "cannot use DATABASE_URL: ${err##*FATAL:  }"
		return 1
	fi
	admin=$(url_with_db "$url" postgres)
	say "database \"$db\" does not exist on that server; creating it"
	if ! err=$(PGCONNECT_TIMEOUT=5 createdb -w --maintenance-db="$admin" "$db" 2>&1); then
		warn "could not create database \"$db\": $err"
		return 1
	fi
	can_connect "$url"
}

# --- throwaway cluster ------------------------------------------------------

PG_HOME="" PG_DATA="" PG_SOCK="" PG_LOG="" PG_PORT="" PG_STARTED=""

find_pg_bin() {
	local d
	if [[ -n ${PG_BIN:-} ]]; then
		[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || die "PG_BIN=$PG_BIN holds no initdb/pg_ctl"
		printf '%s' "$PG_BIN"
		return
	fi
	# Debian/Ubuntu keep the server binaries off PATH; take the newest version.
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
		[[ -x $d/initdb && -x $d/pg_ctl ]] && { printf '%s' "$d"; return; }
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return
	fi
	for d in /usr/pgsql-*/bin /usr/local/pgsql/bin /opt/homebrew/opt/postgresql*/bin /usr/local/opt/postgresql*/bin; do
		[[ -x $d/initdb && -x $d/pg_ctl ]] && { printf '%s' "$d"; return; }
	done
	return 1
}

# as_pg CMD...: run CMD as the cluster's owner (postgres when we are root;
# initdb and postgres refuse to run as root).
as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		if command -v runuser >/dev/null 2>&1; then
			(cd / && runuser -u postgres -- "$@")
		else
			(cd / && su -s /bin/sh postgres -c "$(printf '%q ' "$@")")
		fi
	else
		"$@"
	fi
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# clear_stale_pid removes postmaster.pid when no postgres of ours holds it, and
# stops an orphaned server of ours left by an earlier run that was killed hard.
clear_stale_pid() {
	local pidfile="$PG_DATA/postmaster.pid" pid comm
	[[ -f $pidfile ]] || return 0
	pid=$(head -n1 "$pidfile" 2>/dev/null | tr -dc '0-9')
	comm=""
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		comm=$(cat "/proc/$pid/comm" 2>/dev/null || ps -o comm= -p "$pid" 2>/dev/null || true)
	fi
	if [[ $comm == postgres* || $comm == postmaster* ]]; then
		say "a PostgreSQL from an earlier run is still up (pid $pid); stopping it first"
		as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null ||
			die "could not stop the old server; stop pid $pid yourself or rm -rf .dev"
	else
		say "removing a stale postmaster.pid (pid ${pid:-?} is not running)"
		rm -f "$pidfile"
	fi
	rm -f "$PG_SOCK"/.s.PGSQL.*
}

stop_local_pg() {
	[[ -n $PG_STARTED ]] || return 0
	PG_STARTED=""
	say "stopping the throwaway PostgreSQL ($PG_DATA)"
	as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
		warn "could not stop PostgreSQL cleanly; see $PG_LOG"
}

start_local_pg() {
	PGBIN=$(find_pg_bin) || die "no DATABASE_URL reachable and no PostgreSQL server binaries found.
    Either point DATABASE_URL (environment or .env) at a PostgreSQL 14+ database,
    or install the server: sudo apt-get install -y postgresql   (macOS: brew install postgresql)
    or set PG_BIN to the directory holding initdb and pg_ctl."
	local version
	version=$("$PGBIN/postgres" --version 2>/dev/null | awk '{print $3}')
	say "starting a throwaway PostgreSQL ${version:-} from $PGBIN"

	PG_HOME="$DEV_DIR/pg"
	mkdir -p "$DEV_DIR"
	if [[ $(id -u) -eq 0 ]]; then
		getent passwd postgres >/dev/null 2>&1 ||
			die "running as root, but there is no 'postgres' OS user to own the cluster (PostgreSQL refuses to run as root). Create one (useradd -r postgres) or run as a normal user."
		# The postgres user must be able to reach the data directory; a repo
		# under /root is not reachable, so use a directory under /tmp instead.
		if ! as_pg test -x "$DEV_DIR" 2>/dev/null; then
			PG_HOME="${TMPDIR:-/tmp}/tenantctl-dev-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
			warn "the postgres user cannot reach $DEV_DIR; keeping the cluster in $PG_HOME"
		fi
	fi
	PG_DATA="$PG_HOME/data"
	PG_SOCK="$PG_HOME/run"
	PG_LOG="$PG_HOME/postgres.log"
	# Unix socket paths are limited to ~107 bytes.
	if ((${#PG_SOCK} > 80)); then
		PG_SOCK="${TMPDIR:-/tmp}/tenantctl-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
	fi
	mkdir -p "$PG_HOME" "$PG_SOCK"
	chmod 700 "$PG_HOME"
	if [[ $(id -u) -eq 0 ]]; then
		chown -R postgres: "$PG_HOME" "$PG_SOCK"
	fi

	# A cluster from another major version, or a half-made one, is rebuilt: it only
	# ever holds demo data.
	if [[ -f $PG_DATA/PG_VERSION ]]; then
		local want have
		have=$(cat "$PG_DATA/PG_VERSION")
		want=${version%%.*}
		if [[ -n $want && $have != "$want" ]]; then
			warn "the cluster in $PG_DATA is PostgreSQL $have, the binaries are $want; recreating it"
			clear_stale_pid
			rm -rf "$PG_DATA"
		fi
	elif [[ -e $PG_DATA ]]; then
		warn "$PG_DATA is not a complete cluster (an interrupted initdb?); recreating it"
		rm -rf "$PG_DATA"
	fi

	if [[ ! -f $PG_DATA/PG_VERSION ]]; then
		say "initdb $PG_DATA (trust auth, user postgres)"
		as_pg "$PGBIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$DEV_DIR/initdb.log" 2>&1 ||
			as_pg "$PGBIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C >"$DEV_DIR/initdb.log" 2>&1 ||
			{
				cat "$DEV_DIR/initdb.log" >&2
				die "initdb failed (log above)"
			}
	fi
	clear_stale_pid

	local port=${DEV_PG_PORT:-54329} tries=0
	while port_in_use "$port"; do
		((++tries <= 20)) || die "no free port in ${DEV_PG_PORT:-54329}..$port for PostgreSQL; set DEV_PG_PORT"
		port=$((port + 1))
	done
	PG_PORT=$port

	trap stop_local_pg EXIT
	# Make sure a Ctrl-C or SIGTERM during set-up still runs the EXIT trap.
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	PG_STARTED=1
	say "pg_ctl start: 127.0.0.1:$PG_PORT, socket dir $PG_SOCK, log $PG_LOG"
	if ! as_pg "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
		-o "-p $PG_PORT -k '$PG_SOCK' -c listen_addresses=127.0.0.1" start >/dev/null; then
		tail -n 30 "$PG_LOG" >&2 || true
		PG_STARTED=""
		die "PostgreSQL did not start (log above, full log in $PG_LOG)"
	fi

	if ! as_pg "$PGBIN/psql" -w -X -q -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -Atc \
		"select 1 from pg_database where datname = 'tenants'" | grep -q 1; then
		say "createdb tenants"
		as_pg "$PGBIN/createdb" -h "$PG_SOCK" -p "$PG_PORT" -U postgres tenants
	fi
	export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/tenants?sslmode=disable"
}

# --- main ---------------------------------------------------------------------

command -v go >/dev/null 2>&1 || die "go is not on PATH"
# Debian/Ubuntu put psql and friends on PATH only with postgresql-client; the
# server package has them next to initdb.
if ! command -v psql >/dev/null 2>&1 && pgbin=$(find_pg_bin 2>/dev/null) && [[ -x $pgbin/psql ]]; then
	PATH="$pgbin:$PATH"
fi

url=$(setting DATABASE_URL)
from="environment/.env"
if [[ -z $url ]]; then
	url=$DEFAULT_DATABASE_URL
	from="default"
fi

if [[ ${DEV_FORCE_LOCAL_PG:-} == 1 ]]; then
	say "DEV_FORCE_LOCAL_PG=1: not trying DATABASE_URL"
	start_local_pg
else
	say "checking DATABASE_URL ($from): $url"
	if try_database_url "$url"; then
		say "using DATABASE_URL $url"
		export DATABASE_URL=$url
	else
		say "DATABASE_URL is not usable; falling back to a throwaway PostgreSQL under .dev"
		start_local_pg
	fi
fi

# Human-readable logs unless the user chose otherwise.
if [[ -z $(setting LOG_FORMAT) ]]; then
	export LOG_FORMAT=text
fi

say "go build -o .dev/tenantctl ./cmd/tenantctl"
mkdir -p "$DEV_DIR"
go build -o "$BIN" ./cmd/tenantctl || die "the build failed (errors above)"

say "tenantctl migrate"
"$BIN" migrate || die "migrate failed (errors above)"

say "tenantctl demo"
"$BIN" demo || die "demo failed (errors above)"

listen=$(setting LISTEN_ADDR)
listen=${listen:-:8000}
port=${listen##*:}
port=${port:-8000}
base="http://localhost:$port"
t1="http://school1.localhost:$port"
t2="http://school2.localhost:$port"

cat >&2 <<EOF

  tenantctl is starting on $listen   (database: $DATABASE_URL)

  Public host:
    $base/                 welcome and links
    $base/health/          liveness        $base/ready/   readiness
    $base/api/schema/      the OpenAPI document
    $base/admin/           admin UI (create a superuser: .dev/tenantctl superuser create --username admin)

  Tenants (*.localhost resolves to 127.0.0.1 in browsers and curl), user demo / demo123:
    $t1/api/token/    $t2/api/token/

  Try:
    curl -s -X POST $t1/api/token/ -H 'Content-Type: application/json' \\
         -d '{"username":"demo","password":"demo123"}'
    curl -s $t1/api/items/ -H "Authorization: Bearer <access from above>"
    curl -s $t1/api/profile/ -H "Authorization: Bearer <access from above>"

  Email: $([[ -n ${SMTP_URL:-$(dotenv_get SMTP_URL)} ]] && echo 'sent to SMTP_URL' || echo 'written to the server log (no SMTP_URL)').

  Ctrl-C stops the server$([[ -n $PG_STARTED ]] && printf ' and the throwaway PostgreSQL (data kept in %s; rm -rf .dev to reset)' "$PG_DATA").

EOF

if [[ -z $PG_STARTED ]]; then
	exec "$BIN" serve
fi

# We own a PostgreSQL to stop afterwards, so we cannot exec: run the server as a
# child, pass Ctrl-C / SIGTERM on as SIGTERM (its graceful shutdown), wait, clean up.
"$BIN" serve &
srv=$!
trap 'kill -TERM "$srv" 2>/dev/null || true' INT TERM HUP
status=0
while :; do
	wait "$srv" && status=0 || status=$?
	kill -0 "$srv" 2>/dev/null || break
done
exit "$status"
