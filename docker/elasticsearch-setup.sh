#!/bin/sh
# One-shot, for the stack with security on (docker/compose.security.yaml): as
# the `elastic` superuser, sets the password of the built-in `kibana_system`
# user (Kibana's own connection) and creates the role `pg2es_writer` and the
# user `pg2es` the worker logs in with. Run by the elasticsearch-setup service
# (image curlimages/curl: POSIX sh, curl, grep, sed).
#
# Idempotent: every call sets the same state again (PUT, password change), so
# a restart of the stack runs it again harmlessly; a changed password in .env
# is applied on the next `docker compose up`.
#
#   ELASTICSEARCH_URL        default http://elasticsearch:9200
#   ELASTIC_PASSWORD         password of the elastic user (required)
#   KIBANA_SYSTEM_PASSWORD   password to set for kibana_system (required)
#   PG2ES_ES_PASSWORD        password to set for the pg2es user (required)
#   PG2ES_ES_USERNAME        default pg2es
#   INDEX_NAME               the index pg2es_writer may manage, default movies
#   INIT_TIMEOUT             seconds before giving up, default 300
#   RETRY_INTERVAL           seconds between attempts, default 5

set -eu

ELASTICSEARCH_URL=${ELASTICSEARCH_URL:-http://elasticsearch:9200}
ELASTICSEARCH_URL=${ELASTICSEARCH_URL%/}
PG2ES_ES_USERNAME=${PG2ES_ES_USERNAME:-pg2es}
INDEX_NAME=${INDEX_NAME:-movies}
INIT_TIMEOUT=${INIT_TIMEOUT:-300}
RETRY_INTERVAL=${RETRY_INTERVAL:-5}

log() { printf 'elasticsearch-setup: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -n "${ELASTIC_PASSWORD:-}" ] || die "ELASTIC_PASSWORD is not set"
[ -n "${KIBANA_SYSTEM_PASSWORD:-}" ] || die "KIBANA_SYSTEM_PASSWORD is not set"
[ -n "${PG2ES_ES_PASSWORD:-}" ] || die "PG2ES_ES_PASSWORD is not set"
case $INIT_TIMEOUT in '' | *[!0-9]*) die "INIT_TIMEOUT must be a number of seconds, got '$INIT_TIMEOUT'" ;; esac
case $RETRY_INTERVAL in '' | *[!0-9]*) die "RETRY_INTERVAL must be a number of seconds, got '$RETRY_INTERVAL'" ;; esac
# Elasticsearch refuses passwords shorter than 6 characters for native users;
# a control character (newline, tab) would not survive the JSON below.
for var in ELASTIC_PASSWORD KIBANA_SYSTEM_PASSWORD PG2ES_ES_PASSWORD; do
    value= && eval "value=\$$var"
    [ "${#value}" -ge 6 ] || die "$var must have at least 6 characters"
    [ "$(printf '%s' "$value" | tr -d '[:cntrl:]')" = "$value" ] || die "$var holds a control character"
done
case $PG2ES_ES_USERNAME in *[!A-Za-z0-9_.@-]*) die "PG2ES_ES_USERNAME: letters, digits, _ . @ - only" ;; esac
case $INDEX_NAME in *[!a-z0-9_.+-]*) die "INDEX_NAME: lower-case letters, digits, _ . + - only" ;; esac

# json_string VALUE: VALUE as a JSON string literal (quotes and backslashes
# escaped; control characters were refused above).
json_string() {
    printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"
}

# es METHOD PATH [DATA]: as elastic; sets $status and $body (status 000 when
# Elasticsearch could not be reached). The credentials go to curl through a
# config on standard input, not on its command line.
es() {
    method=$1 path=$2
    if [ $# -ge 3 ]; then set -- --data "$3"; else set --; fi
    esc_pass=$(printf '%s' "$ELASTIC_PASSWORD" | sed 's/[\\"]/\\&/g')
    out=$(printf 'user = "elastic:%s"\n' "$esc_pass" |
        curl --config - --silent --show-error --max-time 30 -X "$method" \
            -H 'Content-Type: application/json' --write-out '\n%{http_code}' \
            "$@" "$ELASTICSEARCH_URL$path" 2>/dev/null || printf '\n000')
    status=$(printf '%s\n' "$out" | tail -n 1)
    body=$(printf '%s\n' "$out" | sed '$d')
}

now() { date +%s; }
deadline=$(($(now) + INIT_TIMEOUT))

log "waiting for Elasticsearch at $ELASTICSEARCH_URL (deadline ${INIT_TIMEOUT}s)"
attempt=0
while :; do
    attempt=$((attempt + 1))
    es GET /_security/_authenticate
    case $status in
        200) break ;;
        401) die "Elasticsearch refused the elastic user's password (HTTP 401): ELASTIC_PASSWORD must be the one the data volume was created with" ;;
        000) log "attempt $attempt: Elasticsearch not reachable yet" ;;
        *) log "attempt $attempt: Elasticsearch answered HTTP $status, not ready yet" ;;
    esac
    [ "$(now)" -lt "$deadline" ] || die "gave up after ${INIT_TIMEOUT}s ($attempt attempts)"
    sleep "$RETRY_INTERVAL"
done

# expect WHAT: the last call must have succeeded.
expect() {
    case $status in
        200 | 201) log "$1" ;;
        *) die "$1 failed (HTTP $status): $body" ;;
    esac
}

es POST /_security/user/kibana_system/_password \
    "{\"password\":$(json_string "$KIBANA_SYSTEM_PASSWORD")}"
expect "set the kibana_system password"

# What pg2es does on its indexes: create them, read and change their settings
# and mapping, refresh, bulk index and delete, search/scroll/count/mget, move
# the alias; `monitor` for the cluster ping and health. The three pipelines of
# the image (movies under INDEX_NAME, genres, persons), each an alias and the
# versioned indexes behind it (`<alias>_<hash>`).
names="\"$INDEX_NAME\",\"${INDEX_NAME}_*\",\"genres\",\"genres_*\",\"persons\",\"persons_*\""
es PUT /_security/role/pg2es_writer \
    "{\"cluster\":[\"monitor\"],\"indices\":[{\"names\":[$names],\"privileges\":[\"create_index\",\"manage\",\"read\",\"write\"]}]}"
expect "role pg2es_writer on indexes $INDEX_NAME, genres and persons"

es PUT "/_security/user/$PG2ES_ES_USERNAME" \
    "{\"password\":$(json_string "$PG2ES_ES_PASSWORD"),\"roles\":[\"pg2es_writer\"],\"full_name\":\"pg2es worker\"}"
expect "user $PG2ES_ES_USERNAME with role pg2es_writer"
