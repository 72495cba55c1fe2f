#!/usr/bin/env bash
# Builds and installs Citus into the local PostgreSQL 15 from the source
# archive in ../shared/citus (CI and the test machines cannot reach GitHub;
# users install Citus from its packages or the citusdata/citus image).
# Idempotent: does nothing when this Citus version is already installed.
# Needs root (apt-get, make install).
#
#   scripts/citus-build.sh [path/to/citus-vX.tar.gz]
#   scripts/citus-build.sh --check   exit 0 if Citus is installed or can be built here
set -euo pipefail

VERSION=13.0.5
SHA256=18d569ded553e5896e4e0bed290444dc7ec637dd894939f35801ce49d44c3fa4
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The archive: the argument, CITUS_SOURCE, or the shared directory next to
# the clone (or at /work/shared, where CI's clone may not sit beside it).
CHECK=""
if [[ ${1:-} == --check ]]; then
	CHECK=1
	shift
fi
ARCHIVE=${1:-${CITUS_SOURCE:-}}
if [[ -z $ARCHIVE ]]; then
	for d in "$ROOT/../shared/citus" /work/shared/citus; do
		ARCHIVE=$d/citus-v$VERSION-notests.tar.gz
		[[ -f $ARCHIVE ]] && break
	done
fi
PGCONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
CACHE=${CITUS_CACHE:-/var/cache/tenantctl/citus-$VERSION}

libdir=$("$PGCONFIG" --pkglibdir)
sharedir=$("$PGCONFIG" --sharedir)
if [[ -f $libdir/citus.so && -f $sharedir/extension/citus--$VERSION.sql || -f $libdir/citus.so && -f $CACHE/installed ]]; then
	echo "citus $VERSION is installed ($libdir/citus.so)"
	exit 0
fi
[[ -f $ARCHIVE ]] || { echo "citus-build: no source archive at $ARCHIVE" >&2; exit 1; }
[[ -n $CHECK ]] && { echo "citus $VERSION can be built from $ARCHIVE"; exit 0; }
echo "$SHA256  $ARCHIVE" | sha256sum -c --quiet - || { echo "citus-build: $ARCHIVE does not match its sha256" >&2; exit 1; }

need=()
for p in postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev make gcc; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
	echo "citus-build: installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$CACHE"
src=$CACHE/src
if [[ ! -f $src/configure ]]; then
	rm -rf "$src" && mkdir -p "$src"
	tar -xzf "$ARCHIVE" -C "$src" --strip-components=1
fi
cd "$src"
if [[ ! -f Makefile.global ]]; then
	PG_CONFIG=$PGCONFIG ./configure --quiet >"$CACHE/configure.log" 2>&1 || { tail -30 "$CACHE/configure.log" >&2; exit 1; }
fi
make -s -j"$(nproc)" >"$CACHE/make.log" 2>&1 || { tail -30 "$CACHE/make.log" >&2; exit 1; }
make -s install >"$CACHE/install.log" 2>&1 || { tail -30 "$CACHE/install.log" >&2; exit 1; }
touch "$CACHE/installed"
echo "citus $VERSION installed into $libdir"
