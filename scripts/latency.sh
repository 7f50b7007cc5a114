#!/usr/bin/env bash
# Change-to-searchable latency, commit to visible in a search (refresh_interval 1s), in the
# logical mode (replication slot), the exact mode (triggers + NOTIFY) and the polling mode.
# Usage: [MODES="logical triggers polling"] [DURABLE=1] scripts/latency.sh [CHANGES] [FILMS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CHANGES="${1:-200}"
FILMS="${2:-10000}"
POLL="${POLL:-1s}"

bash scripts/stack/up.sh postgres elasticsearch >/dev/null
# shellcheck source=/dev/null
source target/stack.env
cargo build --release --locked --quiet --bin pg2es --example latency
ES="$PG2ES_TEST_ELASTICSEARCH_URL"
DB=pg2es_latency
DB_URL="${PG2ES_TEST_POSTGRES_URL%/*}/$DB"
WORK=target/latency
mkdir -p "$WORK"

for mode in ${MODES:-logical triggers polling}; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$PG2ES_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -f db/schema.sql
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -v films="$FILMS" -f db/generate.sql >/dev/null
    # DURABLE=1: the application's commits flush the log (the test stack's default is
    # synchronous_commit = off, which holds a commit back from a replication slot until the
    # WAL writer flushes it, up to wal_writer_delay).
    [[ "${DURABLE:-0}" == 1 ]] && psql -X -q -d "$DB_URL" -c "ALTER DATABASE $DB SET synchronous_commit = on"
    bash scripts/drop-index.sh "$ES" "latency_$mode"
    export PG2ES__POSTGRES__URL="$DB_URL" PG2ES__ELASTICSEARCH__URL="$ES" PG2ES__PIPELINES__MOVIES__ALIAS="latency_$mode" \
        PG2ES__STATE__PATH="$WORK/state_$mode.yaml" PG2ES__DEAD_LETTER__PATH="$WORK/dead_$mode.ndjson" \
        PG2ES__SYNC__CAPTURE="$mode" PG2ES__SYNC__POLL_INTERVAL="$POLL" PG2ES__LOG__LEVEL=warn
    [[ "$mode" != polling ]] && target/release/pg2es --pipeline movies setup >/dev/null
    target/release/pg2es --pipeline movies sync --once --reset-state >/dev/null
    target/release/pg2es --pipeline movies run &
    worker=$!
    # A failed probe must not leave the worker (and its slot) behind.
    trap 'kill "$worker" 2>/dev/null || true' EXIT
    echo -n "mode=$mode poll_interval=$POLL films=$FILMS "
    target/release/examples/latency "$DB_URL" "$ES" "latency_$mode" "$CHANGES"
    kill "$worker"
    wait "$worker" || true
    # The slot would keep log for ever.
    if [[ "$mode" == logical ]]; then
        target/release/pg2es --pipeline movies teardown >/dev/null
    fi
done
