#!/usr/bin/env bash
# Run a command (normally pytest) against a throwaway PostgreSQL server.
#
#   scripts/with-test-postgres.sh COMMAND [ARGS...]
#   scripts/with-test-postgres.sh --find-bindir    # print the PostgreSQL bin dir, or exit 1
#
# When initdb and pg_ctl can be found (on PATH, then in /usr/lib/postgresql/*/bin, newest
# version first) a fresh cluster is created in a temporary directory, listening on 127.0.0.1
# on a free port, and COMMAND runs with DATABASE_URL=postgres://tributary@127.0.0.1:PORT/tributary.
# The server is stopped and the directory removed when COMMAND ends, fails or is interrupted.
# Otherwise COMMAND runs on SQLite, with a notice.
#
# Environment:
#   TRIBUTARY_REQUIRE_POSTGRES=1   fail instead of falling back to SQLite (CI sets this)
#   TRIBUTARY_TEST_DATABASE=sqlite use SQLite even when PostgreSQL is available
#   TRIBUTARY_PG_SEARCH_PATH       colon-separated directories searched after PATH
#                                  (default: /usr/lib/postgresql/*/bin, newest first;
#                                  set it to an empty string to search PATH only)
set -euo pipefail

PG_SUPERUSER=tributary
PG_DATABASE=tributary

say() { printf '%s\n' "with-test-postgres: $*" >&2; }

truthy() {
    case "${1,,}" in
        1 | true | yes | on) return 0 ;;
        *) return 1 ;;
    esac
}

# Directories to look in after PATH, newest PostgreSQL version first.
search_dirs() {
    if [[ -n "${TRIBUTARY_PG_SEARCH_PATH+set}" ]]; then
        tr ':' '\n' <<<"$TRIBUTARY_PG_SEARCH_PATH"
    else
        local dir
        for dir in /usr/lib/postgresql/*/bin; do
            [[ -d "$dir" ]] && printf '%s\n' "$dir"
        done | sort -t/ -k5,5 -V -r
    fi
}

# Print the directory holding initdb, pg_ctl and postgres; fail when there is none.
find_bindir() {
    local initdb dir
    if initdb=$(command -v initdb) && command -v pg_ctl >/dev/null; then
        # Debian links only some tools onto PATH: use the directory the link points into.
        dir=$(dirname "$(readlink -f "$initdb")")
        if [[ -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    while IFS= read -r dir; do
        [[ -n "$dir" ]] || continue
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(search_dirs)
    return 1
}

free_port() {
    local python
    python=$(command -v python3 || command -v python) || {
        say "python3 is needed to pick a free port"
        return 1
    }
    "$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

if [[ "${1:-}" == "--find-bindir" ]]; then
    find_bindir
    exit
fi
if [[ $# -eq 0 ]]; then
    say "usage: $0 COMMAND [ARGS...]"
    exit 2
fi

run_command() {
    local rc=0
    "$@" || rc=$?
    if [[ $rc -eq 5 && "$*" == *pytest* ]]; then
        say "FAILED: no tests were collected (pytest exit code 5)"
    fi
    return "$rc"
}

use_sqlite() {
    local reason=$1
    shift
    SQLITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tributary-test-sqlite.XXXXXX")
    trap 'rm -rf "$SQLITE_TMP"' EXIT
    export DATABASE_URL="sqlite:///$SQLITE_TMP/tributary.sqlite3"
    say "Test database: SQLite ($reason)"
    run_command "$@"
}

if [[ "${TRIBUTARY_TEST_DATABASE:-}" == "sqlite" ]]; then
    if truthy "${TRIBUTARY_REQUIRE_POSTGRES:-0}"; then
        say "ERROR: TRIBUTARY_TEST_DATABASE=sqlite contradicts TRIBUTARY_REQUIRE_POSTGRES=1"
        exit 1
    fi
    use_sqlite "TRIBUTARY_TEST_DATABASE=sqlite" "$@"
    exit
fi

if ! BINDIR=$(find_bindir); then
    if truthy "${TRIBUTARY_REQUIRE_POSTGRES:-0}"; then
        say "ERROR: TRIBUTARY_REQUIRE_POSTGRES is set but no PostgreSQL server binaries" \
            "(initdb, pg_ctl, postgres) were found on PATH or in /usr/lib/postgresql/*/bin." \
            "Install them, e.g. 'apt-get install postgresql'."
        exit 1
    fi
    say "NOTICE: PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in" \
        "/usr/lib/postgresql/*/bin: FALLING BACK TO SQLITE. Production uses PostgreSQL;" \
        "install it (e.g. 'apt-get install postgresql') to test against it."
    use_sqlite "PostgreSQL not found" "$@"
    exit
fi

# PostgreSQL refuses to run as root: run the server as an unprivileged account.
as_server_user=()
if [[ $EUID -eq 0 ]]; then
    server_user=nobody
    if id -u postgres >/dev/null 2>&1; then
        server_user=postgres
    fi
    if command -v runuser >/dev/null; then
        as_server_user=(runuser -u "$server_user" --)
    elif command -v setpriv >/dev/null; then
        as_server_user=(setpriv --reuid="$(id -u "$server_user")"
            --regid="$(id -g "$server_user")" --clear-groups --)
    else
        say "ERROR: running as root but neither runuser nor setpriv is available to drop privileges"
        exit 1
    fi
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tributary-test-pg.XXXXXX")
DATA="$TMP/data"
if [[ ${#as_server_user[@]} -gt 0 ]]; then
    chown "$server_user" "$TMP"
fi

as_server() { (cd "$TMP" && "${as_server_user[@]}" "$@"); }

stop_server() {
    if [[ -f "$DATA/postmaster.pid" ]]; then
        as_server "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_server
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A watchdog in its own session stops the server should this script be killed outright
# (SIGKILL, or a CI runner killing the process group), which skips the trap above.
if command -v setsid >/dev/null; then
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        if [[ -f "$3/data/postmaster.pid" ]]; then
            (cd "$3" && "${@:4}" "$2/pg_ctl" -D "$3/data" -m immediate -w stop)
        fi
        rm -rf "$3"
    ' watchdog "$$" "$BINDIR" "$TMP" "${as_server_user[@]}" </dev/null >/dev/null 2>&1 &
fi

if ! as_server "$BINDIR/initdb" -D "$DATA" -U "$PG_SUPERUSER" -A trust -E UTF8 --locale=C \
    --no-sync >"$TMP/initdb.log" 2>&1; then
    say "ERROR: initdb failed:"
    cat "$TMP/initdb.log" >&2
    exit 1
fi

cat >>"$DATA/postgresql.conf" <<EOF

# Throwaway test cluster: speed over durability.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TMP'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

started=
for _ in 1 2 3; do
    PORT=$(free_port)
    if as_server "$BINDIR/pg_ctl" -D "$DATA" -l "$TMP/server.log" -o "-p $PORT" -w -t 60 \
        start >/dev/null 2>&1; then
        started=1
        break
    fi
done
if [[ -z "$started" ]]; then
    say "ERROR: the PostgreSQL test server did not start:"
    tail -n 30 "$TMP/server.log" >&2 || true
    exit 1
fi

if ! as_server "$BINDIR/psql" -X -q -h "$TMP" -p "$PORT" -U "$PG_SUPERUSER" -d postgres \
    -c "CREATE DATABASE $PG_DATABASE" >/dev/null; then
    say "ERROR: could not create the database $PG_DATABASE"
    exit 1
fi

export DATABASE_URL="postgres://$PG_SUPERUSER@127.0.0.1:$PORT/$PG_DATABASE"
version=$("$BINDIR/postgres" --version | sed "s/^postgres (PostgreSQL) /PostgreSQL /")
say "Test database: $version at 127.0.0.1:$PORT (throwaway," \
    "from $BINDIR; removed afterwards)"

run_command "$@"
