# scripts/lib/postgres.sh - a throwaway PostgreSQL 15 server on loopback, for whatever needs a
# real one for a while: the tests (tests/fixtures/postgres/lib.sh), the benchmarks
# (bench/postgres.sh) and scripts/demo-cluster.sh. Sourced; it sets no trap of its own.
#
#   pg_launch     initdb + pg_ctl (the Debian package's) in a new folder under /tmp, on a free
#                 loopback port with its unix socket in that folder, as an unprivileged user
#                 when run as root (root may not run a server); create the database `slipway`;
#                 export PG_URL (postgresql://slipway@127.0.0.1:PORT/slipway, no password in
#                 it) and PGPASSWORD. Returns 2 when PostgreSQL 15 is not installed, 1 when it
#                 does not start (saying why on stderr).
#   pg_stop       stop it (fast shutdown) and remove its folder.
#   pg_pause / pg_resume   stop the server and start it again on the same folder and port.
#   pg_freeze / pg_thaw    SIGSTOP the server and every process of it, and SIGCONT them: a
#                 database that accepts connections (the kernel does) but answers nothing.
#   pg_as CMD...  CMD as the server's owner.
#
# The server does not sync to disk (fsync off) unless PG_DURABLE=1 (PostgreSQL's defaults).
# A watchdog in its own session stops the server when the shell that started it dies without
# running its traps (kill -9, a timeout), so no server outlives its user.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_PORT=""
PG_USER=""
PG_WATCHDOG=""
PG_FROZEN=0

pg_as() {
    if [ -n "$PG_USER" ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

. "$(dirname "${BASH_SOURCE[0]}")/loopback.sh"

pg_server_up() {
    local sync="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_DURABLE:-0}" = 1 ] && sync=""
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 $sync" \
        start >"$PG_DIR/pg_ctl.out" 2>&1
}

pg_launch() {
    if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        echo "PostgreSQL 15 is not installed ($PG_BIN/initdb; scripts/bootstrap.sh --test installs it)" >&2
        return 2
    fi
    PG_USER=""
    if [ "$(id -u)" -eq 0 ]; then
        # The Debian package's own system user; nobody where it is missing.
        if id postgres >/dev/null 2>&1; then PG_USER=postgres; else PG_USER=nobody; fi
    fi
    # Under /tmp, not the caller's folder: the server's user must reach it, and its unix
    # socket path must stay short whatever the checkout's path.
    PG_DIR=$(mktemp -d /tmp/sw-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ -n "$PG_USER" ] && chown "$PG_USER" "$PG_DIR"
    export PGPASSWORD="sw-pg-$RANDOM$RANDOM$RANDOM"
    printf '%s\n' "$PGPASSWORD" >"$PG_DIR/pw"
    chmod 644 "$PG_DIR/pw"
    if ! pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U slipway --pwfile="$PG_DIR/pw" \
            --auth=scram-sha-256 --no-sync -E UTF8 --locale=C >"$PG_DIR/initdb.out" 2>&1; then
        cat "$PG_DIR/initdb.out" >&2
        echo "pg_launch: initdb failed" >&2
        return 1
    fi
    rm -f "$PG_DIR/pw"
    local tries=0
    while :; do
        PG_PORT=$(free_port)
        pg_server_up && break
        tries=$((tries + 1))
        if [ "$tries" -ge 3 ]; then
            cat "$PG_DIR/pg_ctl.out" "$PG_DIR/server.log" >&2 2>/dev/null
            echo "pg_launch: the server did not start" >&2
            return 1
        fi
    done
    pg_watchdog
    export PG_URL="postgresql://slipway@127.0.0.1:$PG_PORT/slipway"
    if ! "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U slipway slipway 2>"$PG_DIR/createdb.out"; then
        cat "$PG_DIR/createdb.out" >&2
        return 1
    fi
}

# A process in its own session (so a kill of the caller's process group misses it) that stops
# the server once the calling shell is gone.
pg_watchdog() {
    local shell=$$ data="$PG_DIR/data" dir="$PG_DIR" user="$PG_USER" bin="$PG_BIN"
    setsid bash -c '
        while kill -0 '"$shell"' 2>/dev/null && [ -d "'"$dir"'" ]; do sleep 0.5; done
        [ -d "'"$data"'" ] || exit 0
        pm=$(head -n 1 "'"$data"'/postmaster.pid" 2>/dev/null)
        [ -n "$pm" ] && for p in $pm $(ps -o pid= --ppid "$pm"); do kill -CONT "$p"; done
        if [ -n "'"$user"'" ]; then runuser -u "'"$user"'" -- "'"$bin"'/pg_ctl" -D "'"$data"'" -m immediate -w stop
        else "'"$bin"'/pg_ctl" -D "'"$data"'" -m immediate -w stop; fi
        rm -rf "'"$dir"'"' </dev/null >/dev/null 2>&1 &
    PG_WATCHDOG=$!
}

# pg_procs: the postmaster's pid, then its children's.
pg_procs() {
    local pm
    pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
    [ -n "$pm" ] || return 0
    echo "$pm"
    ps -o pid= --ppid "$pm"
}

pg_freeze() {
    local p
    PG_FROZEN=1
    # The postmaster first, so that no backend starts after the list is read.
    for p in $(pg_procs); do kill -STOP "$p"; done
}

pg_thaw() {
    local p
    for p in $(pg_procs); do kill -CONT "$p"; done
    PG_FROZEN=0
}

pg_pause() {
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
}

pg_resume() {
    pg_server_up
}

pg_stop() {
    [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ] || return 0
    [ "$PG_FROZEN" = 1 ] && pg_thaw
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    if [ -n "$PG_WATCHDOG" ]; then
        kill "$PG_WATCHDOG" 2>/dev/null
        PG_WATCHDOG=""
    fi
    rm -rf "$PG_DIR"
    PG_DIR=""
}
