# shellcheck shell=bash disable=SC2154,SC2034,SC2317
# (sourced by test.sh: root, here, PROJECT... are set there; helpers run through wait_for)
# The checks of scripts/compose/test.sh, in the order they run: each starts
# from the state the one before left.

# Rows in Postgres, documents per alias: the sample data, as each pipeline sees it.
FILMS=0 GENRES=0 PERSONS=0

all_indexed() {
    [[ "$(es_json /movies/_count "j['count']")" == "$FILMS" &&
        "$(es_json /genres/_count "j['count']")" == "$GENRES" &&
        "$(es_json /persons/_count "j['count']")" == "$PERSONS" ]]
}

# no_backfill WHAT STARTS_BEFORE BACKFILLS_BEFORE: the worker started once per
# pipeline since, and none of them back-filled; it indexed only the changed film.
no_backfill() {
    local what="$1" starts="$2" backfills="$3"
    local now_starts now_backfills indexed
    now_starts="$(count_log "pg2es starting")"
    now_backfills="$(count_log "back-fill starting")"
    ((now_starts == starts + 3)) || fail "$what: expected 3 more 'pg2es starting' lines in the worker's log (one per pipeline), found $((now_starts - starts))"
    ((now_backfills == backfills)) || fail "$what: the worker back-filled again ($((now_backfills - backfills)) 'back-fill starting' lines): it did not resume from the state volume"
    indexed="$(metric 'pg2es_documents_indexed_total{pipeline="movies"}')"
    ((indexed >= 1)) || fail "$what: pg2es_documents_indexed_total{pipeline=\"movies\"} is $indexed: the restarted worker did not index the changed film"
    # At least once: a row at the saved cursor may be read again, never the table.
    ((indexed <= 5)) || fail "$what: pg2es_documents_indexed_total{pipeline=\"movies\"} is $indexed of $FILMS films after one change: a back-fill"
    local p
    for p in genres persons; do
        indexed="$(metric "pg2es_documents_indexed_total{pipeline=\"$p\"}")"
        ((indexed == 0)) || fail "$what: pipeline $p indexed $indexed documents, nothing of it changed"
    done
    clog "$what: resumed without a back-fill (movies indexed: $(metric 'pg2es_documents_indexed_total{pipeline="movies"}'))"
}

check_fresh_start() {
    check "fresh start"
    ! podman volume exists "${PROJECT}_pg2es-data" || fail "volume ${PROJECT}_pg2es-data left from an earlier run"
    compose up -d --no-build "${SERVICES[@]}"
    wait_healthy "${SERVICES[@]}"
    [[ "$(http http://127.0.0.1:9464/healthz)" == ok ]] || fail "/healthz on the published port 9464 did not answer 'ok'"
    wait_for "/readyz to answer 'ready' on the published port 9464" 180 http http://127.0.0.1:9464/readyz
    [[ "$(metric pg2es_postgres_up)" == 1 ]] ||
        fail "/metrics on the published port 9464 lacks 'pg2es_postgres_up 1'"
    FILMS="$(sql 'SELECT count(*) FROM content.film_work')"
    GENRES="$(sql 'SELECT count(*) FROM content.genre')"
    PERSONS="$(sql 'SELECT count(*) FROM content.person')"
    ((FILMS > 0)) || fail "no sample films in Postgres (docker/postgres-init.sh did not run?)"
    wait_for "the aliases movies, genres, persons to hold $FILMS films, $GENRES genres, $PERSONS persons" 300 all_indexed
    local id title hits
    read -r id title < <(sql "SELECT id || ' ' || title FROM content.film_work ORDER BY id OFFSET 7 LIMIT 1")
    hits="$(es /movies/_search -H 'Content-Type: application/json' \
        -d "{\"query\":{\"match_phrase\":{\"title\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$title")}}}" |
        python3 -c 'import json,sys; print(" ".join(h["_id"] for h in json.load(sys.stdin)["hits"]["hits"]))')"
    [[ " $hits " == *" $id "* ]] || fail "a search for the title '$title' does not find film $id (hits: $hits)"
    (($(count_log "back-fill starting") == 3)) || fail "expected one 'back-fill starting' per pipeline on the first start"
    clog "searchable: $FILMS films, $GENRES genres, $PERSONS persons; '$title' found by a search"
}

check_non_root() {
    check "non-root"
    local id uid pid
    id="$(container pg2es)"
    [[ "$(podman image inspect "$PG2ES_IMAGE" --format '{{.Config.User}}')" == 10001:10001 ]] ||
        fail "the image's USER is not 10001:10001"
    uid="$(podman exec "$id" id -u)"
    [[ "$uid" == 10001 ]] || fail "the worker's container runs as uid $uid"
    pid="$(pg2es_pid)" || fail "no pg2es process in the container"
    uid="$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
    [[ "$uid" == 10001 ]] || fail "the pg2es process (host pid $pid) runs as uid $uid"
    podman inspect "$id" --format '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}' |
        grep -w -- "${PROJECT}_pg2es-data:/data" >/dev/null || fail "/data in the worker's container is not the volume ${PROJECT}_pg2es-data"
    local p owner
    for p in movies genres persons; do
        owner="$(podman exec "$id" stat -c %u "/data/state.$p.yaml" 2>/dev/null)" ||
            fail "no /data/state.$p.yaml on the fresh volume ${PROJECT}_pg2es-data"
        [[ "$owner" == 10001 ]] || fail "/data/state.$p.yaml is owned by uid $owner"
    done
    clog "uid 10001 in the image, the container and on the host; it wrote its state files on a fresh volume"
}

check_crash_restart() {
    check "crash"
    local starts backfills restarts pid
    starts="$(count_log "pg2es starting")"
    backfills="$(count_log "back-fill starting")"
    restarts="$(restart_count)"
    pid="$(pg2es_pid)" || fail "no pg2es process in the container"
    kill -KILL "$pid"
    clog "killed the worker's process (host pid $pid, SIGKILL)"
    change_film crash
    restarted() { (($(restart_count) > restarts)) && [[ "$(pg2es_pid)" != "$pid" ]]; }
    wait_for "the restart policy (unless-stopped) to bring the worker back" 60 restarted
    wait_healthy pg2es
    wait_for "film $FILM_ID changed while the worker was down to be indexed" 120 film_title_is "$FILM_ID" "$FILM_TITLE"
    no_backfill "after the crash" "$starts" "$backfills"
}

check_down_up() {
    check "down/up"
    # compose stops the worker with SIGTERM through its init: a clean stop, exit 0.
    compose stop pg2es
    local code
    code="$(podman inspect "$(container pg2es)" --format '{{.State.ExitCode}}')"
    ((code == 0)) || fail "the worker exited with code $code on compose stop (SIGTERM), not 0"
    log_has 'stopping: the state file holds the last acknowledged position' ||
        fail "no 'stopping: the state file holds the last acknowledged position' in the worker's log after SIGTERM"
    clog "compose stop: the worker stopped cleanly (exit 0) with its position saved"
    compose down
    [[ -z "$(container pg2es)" ]] || fail "compose down left the worker's container"
    podman volume exists "${PROJECT}_pg2es-data" || fail "compose down (without -v) dropped the state volume"
    compose up -d --no-build "${SERVICES[@]}"
    wait_healthy "${SERVICES[@]}"
    wait_for "the aliases to answer with all documents after compose up" 120 all_indexed
    change_film down-up
    wait_for "film $FILM_ID changed after compose up to be indexed" 120 film_title_is "$FILM_ID" "$FILM_TITLE"
    no_backfill "after down and up" 0 0
}

# The bulk request size histogram: every bulk since this start held at most
# LIMIT documents (a bucket bound), and some more than half of it.
bulks_within() {
    local limit="$1" half="$2" total within over_half
    total="$(metric pg2es_bulk_request_documents_count)"
    within="$(metric "pg2es_bulk_request_documents_bucket{le=\"$limit\"}")"
    over_half=$((within - $(metric "pg2es_bulk_request_documents_bucket{le=\"$half\"}")))
    ((total > 0)) || fail "no bulk request since the start (pg2es_bulk_request_documents_count is 0)"
    ((within == total)) || fail "$((total - within)) of $total bulk requests held more than $limit documents: PG2ES__SYNC__BATCH_SIZE=50 was not applied"
    ((over_half > 0)) || fail "no bulk request held more than $half documents: the rebuild did not send batches of 50"
    clog "all $total bulk requests since the start held at most $limit documents ($over_half more than $half)"
}

check_config_edit() {
    check "config edit"
    local before old_id new_index
    before="$(es_json /_alias/movies "' '.join(j)")"
    old_id="$(container pg2es)"
    python3 - "$root/index_config.json" "$WORK/index_config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["settings"]["max_result_window"] = 20000
json.dump(config, open(sys.argv[2], "w"), indent=2)
PY
    chmod 0644 "$WORK/index_config.json"
    export COMPOSE_TEST_INDEX_CONFIG="$WORK/index_config.json"
    COMPOSE_FILES+=(-f "$here/edit.yaml")
    # What a user does after editing docker-compose.yaml: `up -d` again.
    compose up -d --no-build --no-deps pg2es
    [[ "$(container pg2es)" != "$old_id" ]] || fail "compose up did not recreate the worker's container after the edit"
    moved() { [[ "$(es_json /_alias/movies "' '.join(j)")" != "$before" ]]; }
    wait_for "the movies alias to move from $before to the rebuilt index" 300 moved
    new_index="$(es_json /_alias/movies "' '.join(j)")"
    [[ "$(es_json "/$new_index/_settings" "j['$new_index']['settings']['index'].get('max_result_window')")" == 20000 ]] ||
        fail "the rebuilt index $new_index lacks the edited setting max_result_window=20000"
    [[ "$(es_json /movies/_count "j['count']")" == "$FILMS" ]] || fail "the rebuilt index $new_index does not hold the $FILMS films"
    local line
    line="$(pg2es_log | grep -F 'pg2es starting' | grep -E 'pipeline="?movies\b' | tail -n 1)"
    [[ "$line" == *"poll_interval=1s"* && "$line" == *"batch_size=50"* ]] ||
        fail "the worker did not start with the edited poll interval and batch size: $line"
    log_has 'rebuilding into a new index' || fail "no 'rebuilding into a new index' in the worker's log"
    bulks_within 64.0 32.0
    for line in genres persons; do
        (($(pg2es_log | grep -F 'back-fill starting' | grep -cE "pipeline=\"?$line\\b") == 0)) || fail "pipeline $line back-filled after an edit of the movies index config"
    done
    wait_healthy pg2es
    change_film edited
    wait_for "film $FILM_ID changed after the edit to be indexed" 60 film_title_is "$FILM_ID" "$FILM_TITLE"
    clog "edited config in force: alias movies moved $before -> $new_index, poll 1s, batches of 50"
}
