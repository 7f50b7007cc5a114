#!/usr/bin/env bash
# Stops the dev/test stack started by scripts/stack/up.sh.
#
#   scripts/stack/down.sh [--clean] [postgres|elasticsearch|opensearch ...]   (default: all)
#
# Idempotent. Data dirs under target/stack are kept unless --clean is given
# (which deletes the stopped services' folders, or all of target/stack when
# stopping everything). target/stack.env is rewritten to list what still runs,
# and removed when nothing does.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STOP_TIMEOUT="${PG2ES_STOP_TIMEOUT:-60}"

# Waits until pid $1 is gone; false if it still runs after $2 seconds. A
# zombie counts as gone: our daemons are re-parented to pid 1, which may reap
# them late.
wait_gone() {
    local pid="$1" deadline=$((SECONDS + $2)) state
    while kill -0 "$pid" 2>/dev/null; do
        state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
        [[ "$state" == Z || -z "$state" ]] && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

pg_down() {
    if [[ ! -f "$PG_DATA/postmaster.pid" ]]; then
        log "postgres: not running"
        return 0
    fi
    PG_BIN="$(find_pg_bin)"
    [[ -n "$PG_BIN" ]] || die "postgres $PG_VERSION: $PG_DATA/postmaster.pid exists but no PostgreSQL $PG_VERSION binaries found"
    PG_LIB="$(pg_lib_of "$PG_BIN")"
    PG_USER="$(pg_user)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        log "postgres: not running (stale postmaster.pid)"
        return 0
    fi
    log "postgres $PG_VERSION: stopping (pg_ctl stop -m fast)"
    # fast = roll back open transactions and disconnect clients, then a clean
    # shutdown; immediate only if that hangs.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m fast -w -t "$STOP_TIMEOUT" >/dev/null 2>&1; then
        log "postgres: fast shutdown timed out; using -m immediate"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m immediate -w -t 30 >/dev/null 2>&1 ||
            die "postgres: could not stop it (log: $PG_LOG)"
    fi
    log "postgres $PG_VERSION: stopped"
}

# Every version's cluster of this stack: whichever PG2ES_PG_VERSION started it, `down.sh
# postgres` stops it (one port, one version at a time).
pg_down_all() {
    local version stopped=""
    for version in "${PG_SUPPORTED_VERSIONS[@]}"; do
        pg_select "$version"
        [[ -f "$PG_DATA/postmaster.pid" ]] || continue
        pg_down
        stopped=1
    done
    pg_select "${PG2ES_PG_VERSION:-15}"
    if [[ -z "$stopped" ]]; then log "postgres: not running"; fi
}

engine_down() {
    engine_vars "$1"
    local pid
    pid="$(engine_pid)"
    if [[ -z "$pid" ]]; then
        # No pid file (deleted by hand?): look for a runner with our own,
        # unique base path on its command line, nothing broader.
        pid="$(pgrep -f -- "-basePath $E_BASE " | head -n 1 || true)"
        engine_pid_is_ours "$pid" || pid=""
    fi
    if [[ -z "$pid" ]]; then
        log "$E_NAME: not running"
        rm -f "$E_PIDFILE"
        return 0
    fi
    # SIGTERM runs the runner's shutdown hook, which closes the nodes cleanly.
    log "$E_NAME: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
        log "$E_NAME: still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 15 || die "$E_NAME: pid $pid survived SIGKILL"
    fi
    rm -f "$E_PIDFILE" "$E_DIR/running"
    log "$E_NAME: stopped"
}

clean=""
args=()
for a in "$@"; do
    case "$a" in
        --clean) clean=1 ;;
        -h | --help)
            sed -n '2,9p' "$0"
            exit 0
            ;;
        *) args+=("$a") ;;
    esac
done
parse_services "${args[@]+"${args[@]}"}"

if [[ ! -d "$STACK_DIR" ]]; then
    log "nothing to stop: $STACK_DIR does not exist"
    rm -f "$STACK_ENV"
    exit 0
fi
take_lock

want() { [[ " ${SERVICES[*]} " == *" $1 "* ]]; }

# Reverse order of up.sh.
for ((i = ${#ENGINES[@]} - 1; i >= 0; i--)); do
    if want "${ENGINES[i]}"; then engine_down "${ENGINES[i]}"; fi
done
if want postgres; then pg_down_all; fi

if [[ -n "$clean" ]]; then
    if ((${#SERVICES[@]} == ${#ALL_SERVICES[@]})); then
        # Postgres's folders outside the checkout (see lib.sh), if they had to be.
        outside=()
        for version in "${PG_SUPPORTED_VERSIONS[@]}"; do
            pg_select "$version"
            if [[ "$PG_DIR" != "$STACK_DIR"/* ]]; then outside+=("$(dirname "$PG_DIR")"); fi
        done
        pg_select "${PG2ES_PG_VERSION:-15}"
        log "removing $STACK_DIR"
        rm -rf "$STACK_DIR" "${outside[@]+"${outside[@]}"}"
    else
        for svc in "${SERVICES[@]}"; do
            case "$svc" in
                postgres)
                    for version in "${PG_SUPPORTED_VERSIONS[@]}"; do
                        pg_select "$version"
                        [[ -d "$PG_DIR" ]] || continue
                        log "removing $PG_DIR"
                        rm -rf "$PG_DIR" "$STACK_DIR/$PG_NAME-dir"
                    done
                    pg_select "${PG2ES_PG_VERSION:-15}"
                    continue
                    ;;
                *)
                    engine_vars "$svc"
                    dir="$E_DIR"
                    ;;
            esac
            log "removing $dir"
            rm -rf "$dir"
        done
    fi
fi

write_env >/dev/null
if [[ -f "$STACK_ENV" ]]; then
    log "still running, per $STACK_ENV:"
    sed 's/^/[stack]   /' "$STACK_ENV" >&2
else
    log "all stopped; removed $STACK_ENV"
fi
