# shellcheck shell=bash disable=SC2154,SC2034,SC2317
# (sourced by test.sh: root, here, PROJECT... are set there; helpers run through wait_for)
# The check "kibana-init" of scripts/compose/test.sh. Kibana cannot be had on
# these machines (no registry carries it), so the one-shot kibana-init never
# meets a Kibana here. What can run without one does, in the service's own
# image (curlimages/curl: its /bin/sh and curl) on the compose network:
#
#   - a bad INIT_TIMEOUT is refused with the variable's name;
#   - no Kibana reachable: it retries, then gives up at the deadline, exit 1;
#   - a server that answers but is not Kibana (the Elasticsearch stand-in,
#     which answers GET /api/data_views with an error): it parses the HTTP
#     status out of curl's output, retries, gives up, exit 1, and never claims
#     to have created anything;
#   - the request Kibana itself makes to Elasticsearch for the data view's
#     fields (_field_caps on the data view's title, `movies`): the alias pg2es
#     made answers it, with the films' fields.
#
# Never run here: both of its requests to Kibana (GET /api/data_views,
# POST /api/data_views/data_view) and every answer Kibana gives (docs/DOCKER.md).

# kibana_init NAME=VALUE...: runs docker/kibana-init.sh as compose runs it
# (same image, entrypoint and mount), with these variables; output in $KI_OUT,
# exit code in $KI_RC. Every `podman run` on the compose network runs inside the
# test's network namespace: netavark sets the network up where podman runs.
kibana_init() {
    local env=() kv
    for kv in "$@"; do env+=(-e "$kv"); done
    KI_RC=0
    KI_OUT="$(in_netns podman run --rm --label "pg2es-compose-test=$PROJECT" --network "${PROJECT}_default" \
        -v "$root/docker/kibana-init.sh:/usr/local/bin/kibana-init.sh:ro" \
        --entrypoint /bin/sh "${env[@]}" docker.io/curlimages/curl:8.11.1 \
        /usr/local/bin/kibana-init.sh 2>&1)" || KI_RC=$?
    printf '%s\n' "$KI_OUT" | sed 's/^/    | /' >>"$WORK/kibana-init.log"
}

# expect_kibana_init WHAT RC TEXT...: the last run exited RC and printed every TEXT.
expect_kibana_init() {
    local what="$1" rc="$2" text; shift 2
    ((KI_RC == rc)) || fail "kibana-init $what: exit $KI_RC, expected $rc; it said: $KI_OUT"
    for text in "$@"; do
        [[ "$KI_OUT" == *"$text"* ]] || fail "kibana-init $what: no '$text' in its output: $KI_OUT"
    done
    [[ "$KI_OUT" != *"created data view"* && "$KI_OUT" != *"already exists"* ]] ||
        fail "kibana-init $what: claims a data view without any Kibana: $KI_OUT"
    clog "kibana-init $what: exit $KI_RC as expected"
}

check_kibana_init() {
    check "kibana-init"
    : >"$WORK/kibana-init.log"
    kibana_init INIT_TIMEOUT=soon
    expect_kibana_init "with INIT_TIMEOUT=soon" 1 "INIT_TIMEOUT must be a number of seconds, got 'soon'"

    kibana_init KIBANA_URL=http://kibana:5601 INIT_TIMEOUT=3 RETRY_INTERVAL=1
    expect_kibana_init "without a Kibana" 1 "Kibana not reachable yet" "gave up after 3s"

    # The stand-in answers /api/data_views as an index name it does not know.
    kibana_init KIBANA_URL=http://elasticsearch:9200 INIT_TIMEOUT=3 RETRY_INTERVAL=1 \
        KIBANA_USERNAME=elastic KIBANA_PASSWORD='pa"ss\word'
    local status
    status="$(printf '%s\n' "$KI_OUT" | sed -n 's/.*Kibana answered HTTP \([0-9]*\), not ready yet.*/\1/p' | head -n 1)"
    [[ "$status" =~ ^[1-5][0-9][0-9]$ && "$status" != 200 ]] ||
        fail "kibana-init against a server that is not Kibana: no HTTP status parsed from its answer: $KI_OUT"
    expect_kibana_init "against the Elasticsearch stand-in (HTTP $status)" 1 "gave up after 3s"
    [[ "$KI_OUT" != *'pa"ss'* ]] || fail "kibana-init printed the password: $KI_OUT"

    # What Kibana asks Elasticsearch for a data view titled like the compose
    # file's DATA_VIEW_TITLE (default: INDEX_NAME, movies).
    local fields
    fields="$(in_netns podman run --rm --label "pg2es-compose-test=$PROJECT" --network "${PROJECT}_default" \
        docker.io/curlimages/curl:8.11.1 -fsS 'http://elasticsearch:9200/movies/_field_caps?fields=*')" ||
        fail "Elasticsearch refused _field_caps on the data view's title 'movies' from the compose network"
    printf '%s' "$fields" | python3 -c 'import json,sys; f=json.load(sys.stdin)["fields"]; sys.exit(0 if "title" in f and "imdb_rating" in f else 1)' ||
        fail "_field_caps on 'movies' lacks the films' fields title and imdb_rating: $fields"
    clog "the data view's title 'movies' resolves in Elasticsearch with the films' fields"
}
