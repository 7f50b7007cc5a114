#!/bin/sh
# One-shot: creates the Kibana data view for the pg2es index, so Discover shows
# the films without a click. Run by the kibana-init service of
# docker-compose.yaml (image curlimages/curl: POSIX sh, curl, grep, sed).
#
# Idempotent: it lists the data views first and does nothing when one with the
# title already exists; a create that races with another one (Kibana answers
# 409, or 400 "Duplicate data view") counts as success too. The index does not
# have to exist yet: the data view picks up the fields once pg2es created it.
#
#   KIBANA_URL          default http://kibana:5601
#   DATA_VIEW_TITLE     index pattern, default movies
#   DATA_VIEW_NAME      display name, default = DATA_VIEW_TITLE
#   KIBANA_USERNAME     with security on: a user allowed to manage data views
#   KIBANA_PASSWORD       (e.g. elastic); no authentication when unset
#   INIT_TIMEOUT        seconds before giving up, default 300
#   RETRY_INTERVAL      seconds between attempts, default 5
#
# Exit 0 when the data view exists, 1 on a refusal or when the deadline passed.

set -eu

KIBANA_URL=${KIBANA_URL:-http://kibana:5601}
KIBANA_URL=${KIBANA_URL%/}
DATA_VIEW_TITLE=${DATA_VIEW_TITLE:-movies}
DATA_VIEW_NAME=${DATA_VIEW_NAME:-$DATA_VIEW_TITLE}
KIBANA_USERNAME=${KIBANA_USERNAME:-}
KIBANA_PASSWORD=${KIBANA_PASSWORD:-}
INIT_TIMEOUT=${INIT_TIMEOUT:-300}
RETRY_INTERVAL=${RETRY_INTERVAL:-5}

log() { printf 'kibana-init: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case $INIT_TIMEOUT in '' | *[!0-9]*) die "INIT_TIMEOUT must be a number of seconds, got '$INIT_TIMEOUT'" ;; esac
case $RETRY_INTERVAL in '' | *[!0-9]*) die "RETRY_INTERVAL must be a number of seconds, got '$RETRY_INTERVAL'" ;; esac
# The values go into a JSON string and a grep pattern unescaped: keep them plain.
nl='
'
for value in "$DATA_VIEW_TITLE" "$DATA_VIEW_NAME"; do
    case $value in
        '' | *'"'* | *\\* | *"$nl"*) die "data view title/name must be non-empty, without \" or \\ or newlines: '$value'" ;;
    esac
done

now() { date +%s; }
deadline=$(($(now) + INIT_TIMEOUT))

# kcurl METHOD PATH [DATA]: prints the body, then the HTTP status on the last
# line (000 when Kibana could not be reached). Credentials go to curl through a
# config on standard input, not on its command line.
kcurl() {
    method=$1 path=$2
    if [ $# -ge 3 ]; then
        set -- --data "$3"
    else
        set --
    fi
    set -- --silent --show-error --max-time 30 -X "$method" \
        -H 'kbn-xsrf: true' -H 'Content-Type: application/json' \
        --write-out '\n%{http_code}' "$@" "$KIBANA_URL$path"
    if [ -n "$KIBANA_USERNAME" ]; then
        esc_user=$(printf '%s' "$KIBANA_USERNAME" | sed 's/[\\"]/\\&/g')
        esc_pass=$(printf '%s' "$KIBANA_PASSWORD" | sed 's/[\\"]/\\&/g')
        printf 'user = "%s:%s"\n' "$esc_user" "$esc_pass" | curl --config - "$@" || printf '\n000'
    else
        curl "$@" || printf '\n000'
    fi
}

# call METHOD PATH [DATA]: sets $status and $body.
call() {
    out=$(kcurl "$@" 2>/dev/null)
    status=$(printf '%s\n' "$out" | tail -n 1)
    body=$(printf '%s\n' "$out" | sed '$d')
}

# A data view whose title is exactly $DATA_VIEW_TITLE, in the body of GET /api/data_views.
has_data_view() {
    printf '%s' "$body" | grep -Eq "\"title\"[[:space:]]*:[[:space:]]*\"$(printf '%s' "$DATA_VIEW_TITLE" | sed 's/[][\.*^$+?(){}|/]/\\&/g')\""
}

log "waiting for Kibana at $KIBANA_URL (deadline ${INIT_TIMEOUT}s)"
attempt=0
while :; do
    attempt=$((attempt + 1))
    call GET /api/data_views
    case $status in
        200)
            if has_data_view; then
                log "data view '$DATA_VIEW_TITLE' already exists, nothing to do"
                exit 0
            fi
            call POST /api/data_views/data_view \
                "{\"data_view\":{\"title\":\"$DATA_VIEW_TITLE\",\"name\":\"$DATA_VIEW_NAME\"}}"
            case $status in
                200 | 201)
                    log "created data view '$DATA_VIEW_NAME' (title '$DATA_VIEW_TITLE')"
                    exit 0
                    ;;
                409)
                    log "data view '$DATA_VIEW_TITLE' already exists (409)"
                    exit 0
                    ;;
                400)
                    case $body in
                        *'Duplicate data view'*)
                            log "data view '$DATA_VIEW_TITLE' already exists (duplicate)"
                            exit 0
                            ;;
                    esac
                    die "Kibana refused the data view (HTTP 400): $body"
                    ;;
                401 | 403)
                    die "Kibana refused the credentials (HTTP $status): set KIBANA_USERNAME/KIBANA_PASSWORD to a user allowed to manage data views"
                    ;;
                *)
                    log "attempt $attempt: create answered HTTP $status, retrying"
                    ;;
            esac
            ;;
        401 | 403)
            die "Kibana refused the credentials (HTTP $status): set KIBANA_USERNAME/KIBANA_PASSWORD"
            ;;
        000)
            log "attempt $attempt: Kibana not reachable yet"
            ;;
        *)
            # 503 while Kibana starts or migrates its saved objects.
            log "attempt $attempt: Kibana answered HTTP $status, not ready yet"
            ;;
    esac
    if [ "$(now)" -ge "$deadline" ]; then
        die "gave up after ${INIT_TIMEOUT}s ($attempt attempts)"
    fi
    sleep "$RETRY_INTERVAL"
done
