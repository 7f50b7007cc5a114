#!/usr/bin/env bash
# Cost on the source database: what each capture mode takes from the users' write throughput,
# on durable settings. pgbench single-row transactions (2 clients) for film updates, link
# inserts and person updates, on a Postgres cluster of its own (fsync, synchronous_commit and
# full_page_writes on; wal_level logical; the test stack stays fast), with
#   none        no capture,
#   triggers    what `pg2es setup` installs (row triggers + a statement NOTIFY trigger), no reader,
#   statement   an attempt to lower that: statement-level triggers over transition tables
#               (scripts/bench/statement-triggers.sql; bench only), no reader,
#   triggers_run  the triggers with `pg2es run` reading and deleting what they record,
#   decoding    a pgoutput slot read by pg_recvlogical (the walsender's decoding alone),
#   logical_run the slot read by `pg2es run` (sync.capture: logical), indexing into Elasticsearch.
# The source's host and the indexer's are told apart by CPU: Postgres (so every backend and
# walsender) and pgbench run on core 0, Elasticsearch, pg2es and pg_recvlogical on core 1
# (`taskset`; on one core, all share it). What capture costs Postgres itself shows on core 0.
# The set-ups take turns, ROUNDS times (a shared disk makes fsync-bound figures noisy); medians.
#   ROUNDS=3 scripts/bench/source-cost.sh [FILMS=20000] [SECONDS=10]
# Writes bench/results/source-cost.md and rebuilds bench/REPORT.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=transactions.sh
source scripts/bench/transactions.sh
FILMS="${1:-20000}"
SECONDS_EACH="${2:-10}"
ROUNDS="${ROUNDS:-3}"
PORT="${PG2ES_DURABLE_PORT:-55499}"
RESULTS=bench/results/source-cost.md
WORK=target/bench-source-cost
DATA="$PWD/target/durable-pg"
log() { echo "[bench-source-cost] $*" >&2; }

bash scripts/stack/up.sh elasticsearch >&2
# shellcheck source=/dev/null
source target/stack.env
ES="$PG2ES_TEST_ELASTICSEARCH_URL"
PG2ES="${PG2ES:-target/release/pg2es}"
cargo build --release --locked --quiet --bin pg2es
BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -1)"
mkdir -p "$WORK" bench/results
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cores=$(nproc)
SOURCE_CORE=0 INDEXER_CORE=$((cores > 1 ? 1 : 0))
ES_PID=$(cat target/stack/es/es.pid)
stop_pg() {
    if [[ -f "$DATA/postmaster.pid" ]]; then as_pg "$BIN/pg_ctl" -D "$DATA" stop -m fast -w >/dev/null || true; fi
}
cleanup() {
    if [[ -n "${reader:-}" ]]; then kill "$reader" 2>/dev/null || true; fi
    taskset -a -p -c "0-$((cores - 1))" "$ES_PID" >/dev/null || true
    stop_pg
}
trap cleanup EXIT
taskset -a -p -c "$INDEXER_CORE" "$ES_PID" >/dev/null

# A durable cluster of its own, new each run, every process of it on the source's core.
stop_pg
rm -rf "$DATA" && mkdir -p "$DATA"
[[ $(id -u) == 0 ]] && chown postgres: "$DATA"
as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C >/dev/null
as_pg taskset -c "$SOURCE_CORE" "$BIN/pg_ctl" -D "$DATA" -w -l "$DATA/postgres.log" start -o \
    "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DATA -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_level=logical -c shared_buffers=256MB -c max_wal_size=4GB" >/dev/null
DB=pg2es_source_cost
DB_URL="postgres://postgres@127.0.0.1:$PORT/$DB"
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" "$@"; }
psql -X -q -v ON_ERROR_STOP=1 -d "postgres://postgres@127.0.0.1:$PORT/postgres" -c "CREATE DATABASE $DB"
sql -f db/schema.sql
sql -v films="$FILMS" -f db/generate.sql >/dev/null
sql -c "$NUMBERED_SQL" -c "VACUUM ANALYZE"
write_transactions "$WORK" "$FILMS"

export PG2ES__POSTGRES__URL="$DB_URL" PG2ES__ELASTICSEARCH__URL="$ES" \
    PG2ES__PIPELINES__MOVIES__ALIAS=bench_source_cost PG2ES__STATE__PATH="$WORK/state.yaml" \
    PG2ES__DEAD_LETTER__PATH="$WORK/dead.ndjson" PG2ES__LOG__LEVEL=warn
pg2es() { taskset -c "$INDEXER_CORE" "$PG2ES" --pipeline movies "$@"; }
# Each capture mode starts from an index equal to the data: the readers then only follow.
fresh_index() { # CAPTURE
    rm -f "$WORK/state.yaml"
    bash scripts/drop-index.sh "$ES" bench_source_cost
    PG2ES__SYNC__CAPTURE="$1" pg2es setup >/dev/null
    PG2ES__SYNC__CAPTURE="$1" pg2es sync --once --reset-state >/dev/null
}
start_reader() { # CAPTURE (taskset execs pg2es: $reader is the worker's own pid)
    PG2ES__SYNC__CAPTURE="$1" taskset -c "$INDEXER_CORE" "$PG2ES" --pipeline movies run 2>>"$WORK/run.log" &
    reader=$!
}
stop_reader() { kill "$reader"; wait "$reader" 2>/dev/null || true; reader=""; }

declare -A TPS
measure() { # MODE
    for script in "${TRANSACTIONS[@]}"; do
        sql -c "CHECKPOINT" >/dev/null
        local tps
        tps=$(taskset -c "$SOURCE_CORE" "$BIN/pgbench" -n -c 2 -j 2 -T "$SECONDS_EACH" \
            -f "$WORK/$script.sql" "$DB_URL" 2>/dev/null | awk '/^tps/ {print int($3)}')
        TPS[$1,$script]="${TPS[$1,$script]:-} $tps"
        log "round $round: $1 $script tps=$tps"
    done
}
log "fsync=$(psql -X -qAt -d "$DB_URL" -c 'SHOW fsync') synchronous_commit=$(psql -X -qAt -d "$DB_URL" -c 'SHOW synchronous_commit') cores: source $SOURCE_CORE, indexer $INDEXER_CORE"
for ((round = 1; round <= ROUNDS; round++)); do
    measure none
    fresh_index triggers
    measure triggers
    start_reader triggers
    measure triggers_run
    stop_reader
    sql -f scripts/bench/statement-triggers.sql
    measure statement
    PG2ES__SYNC__CAPTURE=triggers pg2es teardown >/dev/null
    fresh_index logical
    slot=$(psql -X -At -d "$DB_URL" -c "SELECT slot_name FROM pg_replication_slots LIMIT 1")
    taskset -c "$INDEXER_CORE" "$BIN/pg_recvlogical" -d "$DB_URL" --slot "$slot" --start -f /dev/null \
        -o proto_version=1 -o publication_names="$slot" &
    reader=$!
    measure decoding
    stop_reader
    start_reader logical
    measure logical_run
    stop_reader
    PG2ES__SYNC__CAPTURE=logical pg2es teardown >/dev/null
done

MODES=(triggers statement triggers_run decoding logical_run)
{
    echo "## Cost on the source database ($(date -u +%Y-%m-%d))"
    echo
    echo "\`ROUNDS=$ROUNDS scripts/bench/source-cost.sh $FILMS $SECONDS_EACH\` (part of \`make bench\`): pgbench, 2 clients,"
    echo "single-row transactions for $SECONDS_EACH s each on $FILMS generated films; a Postgres of its own with"
    echo "\`fsync = on\`, \`synchronous_commit = on\`, \`full_page_writes = on\`, a CHECKPOINT before each run."
    echo "Postgres (every backend and walsender) and pgbench on core $SOURCE_CORE; Elasticsearch, pg2es and"
    echo "pg_recvlogical on core $INDEXER_CORE of $cores: the source's host and the indexer's, as in production."
    echo "The set-ups in turn, $ROUNDS rounds; medians in tps, the change against no capture, every round in brackets."
    echo
    echo "| transaction | no capture | triggers, no reader | statement-level triggers, no reader | triggers + \`pg2es run\` | slot read by \`pg_recvlogical\` | slot read by \`pg2es run\` (logical) |"
    echo "|---|---|---|---|---|---|---|"
    for script in "${TRANSACTIONS[@]}"; do
        # shellcheck disable=SC2086
        none=$(median ${TPS[none,$script]})
        row="| $script | $none [${TPS[none,$script]# }] |"
        for mode in "${MODES[@]}"; do
            # shellcheck disable=SC2086
            m=$(median ${TPS[$mode,$script]})
            row+=" $m ($(pct "$m" "$none")) [${TPS[$mode,$script]# }] |"
        done
        echo "$row"
    done
    echo
    echo "Targets: logical capture ≤ 5 % of the no-capture tps. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    cat <<'READING'

How to read it: Postgres has one core here, so whatever capture spends on the source is taken
from the transactions. Decoding (the walsender reading and decoding the log for the slot, any
reader) and, with `pg2es run`, the queries that build the changed documents, are the source's
share; Elasticsearch and pg2es themselves run on the other core. Triggers cost each writing
transaction its row trigger and change row, and with a reader also the reads and deletes of
the change table. On a source with idle cores the walsender runs beside the backends instead
of in their place, so a busy but not CPU-bound server pays less than this.
READING
} >"$RESULTS"
bash scripts/bench/report.sh
cat "$RESULTS"
log "wrote $RESULTS and bench/REPORT.md"
