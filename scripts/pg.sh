# shellcheck shell=bash
# A throw-away PostgreSQL cluster for the tests and the bench, sourced by scripts/test and
# scripts/bench. start_pg DIR: initdb (trust auth, fsync left on) and start it on a free
# loopback port with its socket in DIR; exports STRIPE_MCP_TEST_PG and PG_BIN, PG_DATA,
# PG_PORT. As root, the server runs as the unprivileged user `postgres` (it refuses root).
# stop_pg: stops it and removes DIR. pg_bin_dir: the server binaries' directory, or fails.

PG_DATA=""
PG_PORT=""
PG_BIN=""

pg_bin_dir() {
    local d
    # Debian's versioned directories first (the newest), then whatever PATH has.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            echo "$d"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

# Runs a server binary as the cluster's owner.
_pg_as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_pg() {
    local dir=$1
    PG_BIN=$(pg_bin_dir) || return 1
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        echo "start_pg: running as root but there is no user postgres to run the server as" >&2
        return 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    PG_DATA="$dir/data"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres "$dir"
        # The owner must be able to reach DIR through its parents.
        local p=$dir
        while [[ $p != / ]]; do
            p=$(dirname "$p")
            chmod o+x "$p" 2>/dev/null || true
        done
    fi
    _pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres >"$dir/initdb.log" 2>&1 || {
        tail -n 20 "$dir/initdb.log" >&2
        return 1
    }
    local try
    for try in 1 2 3; do
        PG_PORT=$(_pg_free_port)
        # fsync and synchronous_commit stay at their defaults (on): the figures are durable ones.
        if _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/server.log" -w -t 30 \
            -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null 2>&1; then
            export STRIPE_MCP_TEST_PG="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
            # For the test that restarts the server mid-burst (tests/pg_restart.rs).
            export STRIPE_MCP_TEST_PG_CTL="$PG_BIN/pg_ctl"
            export STRIPE_MCP_TEST_PG_DATA="$PG_DATA"
            export PG_BIN PG_DATA PG_PORT
            return 0
        fi
    done
    tail -n 20 "$dir/server.log" >&2
    return 1
}

stop_pg() {
    if [[ -n "$PG_DATA" && -d "$PG_DATA" ]]; then
        _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$(dirname "$PG_DATA")"
    fi
    PG_DATA=""
}
