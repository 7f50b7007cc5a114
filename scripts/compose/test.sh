#!/usr/bin/env bash
# make compose-test: the image and docker-compose.yaml run for real, as users
# deploy them. Builds the image from the Dockerfile as it is, starts postgres,
# elasticsearch and pg2es from docker-compose.yaml (plus scripts/compose/
# standin.yaml, what the stand-in images need), and checks, failing with the
# reason:
#
#   fresh start   every service healthy; /healthz, /readyz, /metrics answer on the
#                 published port; the sample films, genres and persons are searchable
#   non-root      the worker runs as uid 10001 and wrote its state on a fresh volume
#   crash         the worker's process killed -> the restart policy brings it back ->
#                 it resumes from the state volume (no back-fill, by its log and by
#                 pg2es_documents_indexed_total) and indexes a row changed meanwhile
#   down/up       compose down, then up with the volumes kept: resumes, no back-fill
#   config edit   poll interval and batch size through the compose environment and a
#                 changed index_config.json mounted in take effect on the next start:
#                 the changed mapping is rebuilt behind the alias, bulks obey the batch
#   kibana-init   docker/kibana-init.sh in its image against the Elasticsearch stand-in
#                 (Kibana itself cannot be had here: see docs/DOCKER.md)
#
# Needs root (rootful podman), the recipe shared/containers beside the checkout
# (or PG2ES_CONTAINERS=dir) and the package registries (cargo and apt-get in the
# build). Everything listens on 127.0.0.1 inside a network namespace of its own;
# everything it started is stopped at the end, also when a check fails. Images
# (base images, the built image, buildah's cache) are kept under $CTR (/tmp/ctr)
# for the next run. KEEP=1 leaves the stack up after a failure, to look at it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=prepare.sh
. "$here/prepare.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=checks.sh
. "$here/checks.sh"
# shellcheck source=kibana.sh
. "$here/kibana.sh"

[[ "$(id -u)" == 0 ]] || { clog "FAIL: needs root (rootful podman)"; exit 1; }
started=$SECONDS
mkdir -p "$WORK"
: >"$WORK/compose.log"
# scripts/compose/standin.yaml gives Elasticsearch 20000 open files.
(($(ulimit -Hn) >= 20000)) || { clog "FAIL: the open files hard limit is $(ulimit -Hn), standin.yaml needs 20000"; exit 1; }
# edit.yaml mounts this; until the config edit check it is never used.
export COMPOSE_TEST_INDEX_CONFIG=/dev/null

prepare_engine
prepare_base_images
build_image

netns_made=0 pump=""
teardown() {
    local rc=$?
    trap - EXIT INT TERM
    # Every step below is tried, whatever the one before it did.
    set +e
    if ((rc != 0)); then
        local id; id="$(container pg2es 2>/dev/null || true)"
        if [[ -n "$id" ]]; then
            podman logs "$id" >"$WORK/pg2es.log" 2>&1 || true
            clog "last lines of the worker's log (all of it: $WORK/pg2es.log):"
            tail -n 25 "$WORK/pg2es.log" >&2 || true
        fi
        if [[ "${KEEP:-0}" == 1 ]]; then
            clog "KEEP=1: stack left up (project $PROJECT, netns $NETNS, health pump pid $pump)"
            exit "$rc"
        fi
    fi
    clog "stopping everything this run started"
    # rm -v: with their anonymous volumes too (compose down -v keeps those).
    podman ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r podman rm -f -v >/dev/null 2>&1
    "$RECIPE/compose.sh" -p "$PROJECT" "${ALL_COMPOSE_FILES[@]}" down -v >>"$WORK/compose.log" 2>&1 || true
    # one-shot containers of the kibana-init check, should one be left
    podman rm -f --filter "label=pg2es-compose-test=$PROJECT" >/dev/null 2>&1 || true
    podman volume rm -f "${PROJECT}_pg2es-data" "${PROJECT}_postgres-data" "${PROJECT}_elasticsearch-data" >/dev/null 2>&1 || true
    in_netns podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
    if [[ -n "$pump" ]]; then
        kill "$pump" 2>/dev/null
        wait "$pump" 2>/dev/null
    fi
    ((netns_made)) && ip netns delete "$NETNS"
    if ((rc == 0)); then
        clog "PASS: all checks in $((SECONDS - started))s"
    else
        clog "FAILED (exit $rc) after $((SECONDS - started))s"
    fi
    exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# The network namespace (only `lo`), left from an aborted run or made now.
if [[ -e "/run/netns/$NETNS" ]]; then
    ip netns delete "$NETNS"
fi
ip netns add "$NETNS"
netns_made=1
ip -n "$NETNS" link set lo up
# Anything left by an aborted run of the same project goes first: every check
# starts from fresh volumes.
"$RECIPE/compose.sh" -p "$PROJECT" "${ALL_COMPOSE_FILES[@]}" down -v >>"$WORK/compose.log" 2>&1 || true
# Healthchecks run from systemd timers under podman; there is no systemd here.
bash "$RECIPE/health-pump.sh" >/dev/null 2>&1 &
pump=$!

check_fresh_start
check_non_root
check_crash_restart
check_down_up
check_config_edit
check_kibana_init
