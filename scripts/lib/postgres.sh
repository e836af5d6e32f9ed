# shellcheck shell=bash
# A throwaway PostgreSQL cluster on a free loopback port, in a temporary directory; stopped by stop_postgres.
PG_TMP=""
PG_BIN=""
PG_USER=""

find_pg_bin() {
    local candidate
    for candidate in /usr/lib/postgresql/*/bin; do
        [ -x "$candidate/pg_ctl" ] && PG_BIN="$candidate"
    done
    if [ -z "$PG_BIN" ] && command -v pg_ctl >/dev/null; then
        PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
    fi
    [ -n "$PG_BIN" ]
}

install_postgres() {
    if ! find_pg_bin; then
        echo "PostgreSQL is missing: installing it with apt"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        find_pg_bin || { echo "PostgreSQL binaries not found after installing" >&2; return 1; }
    fi
}

# Runs a PostgreSQL binary as an unprivileged user (initdb and postgres refuse to run as root).
pg_as_user() {
    if [ -n "$PG_USER" ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

start_postgres() {
    install_postgres
    PG_TMP=$(mktemp -d /tmp/cpts-pg.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then
        PG_USER=postgres
        id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
        chown "$PG_USER" "$PG_TMP"
    fi
    PG_PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    pg_as_user "$PG_BIN/initdb" -D "$PG_TMP/data" -U cpts -A trust -E UTF8 --no-sync >"$PG_TMP/initdb.log" 2>&1 \
        || { cat "$PG_TMP/initdb.log" >&2; return 1; }
    pg_as_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_TMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        >/dev/null || { cat "$PG_TMP/server.log" >&2; return 1; }
    pg_as_user "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U cpts cpts_test
    export CPTS_TEST_PG_URL="postgresql+psycopg://cpts@127.0.0.1:${PG_PORT}/cpts_test"
    echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') started on 127.0.0.1:$PG_PORT ($PG_TMP)"
}

stop_postgres() {
    if [ -n "$PG_TMP" ] && [ -d "$PG_TMP/data" ]; then
        pg_as_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    [ -n "$PG_TMP" ] && rm -rf "$PG_TMP"
    PG_TMP=""
}
