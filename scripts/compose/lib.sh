# shellcheck shell=bash disable=SC2154,SC2034,SC2317
# (sourced by test.sh: root, here, PROJECT... are set there; helpers run through wait_for)
# Helpers for scripts/compose/test.sh (sourced after prepare.sh): the compose
# project under test, waits with deadlines, and the three ways of looking at
# the stack (Postgres through psql in its container, Elasticsearch and the
# worker's HTTP port through the ports compose publishes on 127.0.0.1 inside
# the test's own network namespace).

# The compose project: its own name, so that it never touches a stack started
# by hand with the recipe (project `pg2es`), and its own network namespace.
PROJECT="${COMPOSE_TEST_PROJECT:-pg2es-ctest}"
export NETNS="${COMPOSE_TEST_NETNS:-pg2es-ctest}"
WORK="$CTR/compose-test"
# docker-compose.yaml as users run it, plus the stand-ins' needs (see the file).
COMPOSE_FILES=(-f "$root/docker-compose.yaml" -f "$root/scripts/compose/standin.yaml")
# ...and the config edit (check "config edit"): what `down` must know of, whatever ran.
ALL_COMPOSE_FILES=("${COMPOSE_FILES[@]}" -f "$root/scripts/compose/edit.yaml")
SERVICES=(postgres elasticsearch pg2es)
CHECK="setup"

# fail REASON: the check running now failed; the EXIT trap tears everything down.
fail() {
    clog "FAIL [$CHECK]: $*"
    exit 1
}

check() {
    CHECK="$1"
    clog "---- $CHECK"
}

compose() {
    "$RECIPE/compose.sh" -p "$PROJECT" "${COMPOSE_FILES[@]}" "$@" >>"$WORK/compose.log" 2>&1 ||
        { tail -n 15 "$WORK/compose.log" >&2; fail "podman-compose $* failed (log: $WORK/compose.log)"; }
}

# in_netns CMD...: runs a command inside the test's network namespace.
in_netns() {
    nsenter --net="/run/netns/$NETNS" "$@"
}

# container SERVICE: the id of the service's container (empty when there is none).
container() {
    podman ps -a --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" --format '{{.ID}}' | head -n 1
}

# wait_for WHAT SECONDS CMD...: runs CMD every second until it succeeds; fails
# naming WHAT when SECONDS have passed.
wait_for() {
    local what="$1" limit="$2"; shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || fail "waited ${limit}s for $what"
        sleep 1
    done
}

health() {
    local id; id="$(container "$1")"
    [[ -n "$id" ]] || { echo missing; return; }
    podman inspect "$id" --format '{{.State.Status}}/{{.State.Health.Status}}'
}

is_healthy() { [[ "$(health "$1")" == running/healthy ]]; }

# wait_healthy SERVICE...: each one running and healthy within 300 s; fails
# at once, with its last log lines, when one restarts three times meanwhile.
wait_healthy() {
    local s id base restarts deadline
    for s in "$@"; do
        deadline=$((SECONDS + 300))
        id="$(container "$s")"
        base="$(podman inspect "$id" --format '{{.RestartCount}}' 2>/dev/null || echo 0)"
        until is_healthy "$s"; do
            restarts="$(podman inspect "$id" --format '{{.RestartCount}}' 2>/dev/null || echo 0)"
            if ((restarts >= base + 3 || SECONDS >= deadline)); then
                podman logs --tail 20 "$id" >&2 || true
                ((SECONDS < deadline)) ||
                    fail "service $s is not healthy after 300s (state: $(health "$s"))"
                fail "service $s keeps failing: restarted $((restarts - base)) times while waiting for it to be healthy (see its log above)"
            fi
            sleep 1
        done
        clog "$s: healthy"
    done
}

# http URL: the body of a GET through the published ports (fails on HTTP >= 400).
http() {
    in_netns curl -fsS --max-time 10 "$@"
}

es() { http "http://127.0.0.1:9200$1" "${@:2}"; }

# es_json PATH PYTHON-EXPRESSION: a value out of an Elasticsearch answer (`j`).
es_json() {
    es "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"
}

sql() {
    podman exec "$(container postgres)" psql -X -qAt -v ON_ERROR_STOP=1 -U postgres -d movies -c "$1"
}

# metric NAME{LABELS}: the value on the worker's /metrics, 0 when absent.
metric() {
    http http://127.0.0.1:9464/metrics | awk -v m="$1" '$1 == m { v = $2 } END { print (v == "" ? 0 : v) + 0 }'
}

pg2es_log() { podman logs "$(container pg2es)" 2>&1; }

# Never `... | grep -q` here: under pipefail, grep -q quitting at the first
# match makes the writer die of SIGPIPE and the whole test fail (or, negated, pass).

# log_has TEXT: the worker container's log (every start of it) holds TEXT.
log_has() { [[ "$(pg2es_log)" == *"$1"* ]]; }

# count_log TEXT: lines of the worker container's log (every start of it) holding TEXT.
count_log() { pg2es_log | grep -cF -- "$1" || true; }

# change_film TAG: gives the first film a new title; sets FILM_ID and FILM_TITLE.
change_film() {
    FILM_TITLE="compose-test $1 $RANDOM"
    FILM_ID="$(sql "UPDATE content.film_work SET title = '$FILM_TITLE', updated_at = now()
                    WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1) RETURNING id")" ||
        fail "cannot change a film in Postgres"
    [[ -n "$FILM_ID" ]] || fail "no film to change in Postgres"
    clog "film $FILM_ID renamed '$FILM_TITLE'"
}

film_title_is() {
    [[ "$(es_json "/movies/_doc/$1" "j.get('_source', {}).get('title')")" == "$2" ]]
}

# pg2es_pid: the worker's process on the host (the child of the container's init).
pg2es_pid() {
    local init; init="$(podman inspect "$(container pg2es)" --format '{{.State.Pid}}')"
    ((init > 0)) || return 1
    local pid
    for pid in $(pgrep -P "$init") "$init"; do
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == pg2es ]] && { echo "$pid"; return 0; }
    done
    return 1
}

restart_count() { podman inspect "$(container pg2es)" --format '{{.RestartCount}}'; }
