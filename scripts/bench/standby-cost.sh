#!/usr/bin/env bash
# Logical capture from a hot standby (Postgres 16+) beside logical capture from the primary:
# what each costs the primary's write throughput, and commit → searchable latency through each.
# A durable primary (fsync, synchronous_commit and full_page_writes on) and pgbench (single-row
# transactions, 2 clients) on core 0; its hot standby (streaming through a physical slot, with
# hot_standby_feedback), Elasticsearch and pg2es on core 1: the primary's host and the
# standby's. As in scripts/bench/source-cost.sh, whose figures on Debian's 15 it sits beside.
#   none      the standby streaming, no logical capture,
#   primary   a pgoutput slot on the primary read by `pg2es run` (sync.capture: logical),
#   standby   a pgoutput slot on the standby read by `pg2es run`, postgres.url = the standby.
# The set-ups take turns, ROUNDS times; medians. Latency: examples/latency.rs, CHANGES title
# changes committed one at a time on the primary, each timed until a search finds it.
#   ROUNDS=3 scripts/bench/standby-cost.sh [FILMS=20000] [SECONDS=10] [CHANGES=50]
# PG2ES_PG_VERSION (16, 17 or 18; default 18) chooses the server (installed by
# `PG2ES_PG_VERSION=18 scripts/stack/up.sh postgres`, as `make test` does); pgbench and psql are
# Debian's. Writes bench/results/standby-cost.md and rebuilds bench/REPORT.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=transactions.sh
source scripts/bench/transactions.sh
FILMS="${1:-20000}"
SECONDS_EACH="${2:-10}"
CHANGES="${3:-50}"
ROUNDS="${ROUNDS:-3}"
VERSION="${PG2ES_PG_VERSION:-18}"
PRIMARY_PORT="${PG2ES_PRIMARY_PORT:-55497}"
STANDBY_PORT="${PG2ES_STANDBY_PORT:-55498}"
RESULTS=bench/results/standby-cost.md
WORK=target/bench-standby-cost
log() { echo "[bench-standby-cost] $*" >&2; }
((VERSION >= 16)) || {
    log "a slot on a standby needs Postgres 16 or newer, not $VERSION"
    exit 1
}

bash scripts/stack/up.sh elasticsearch >&2
# shellcheck source=/dev/null
source target/stack.env
ES="$PG2ES_TEST_ELASTICSEARCH_URL"
PG2ES="${PG2ES:-target/release/pg2es}"
cargo build --release --locked --quiet --bin pg2es --example latency
# The server's binaries, as the stack installs them (scripts/stack/lib.sh).
# shellcheck source=../stack/lib.sh
PG2ES_PG_VERSION="$VERSION" source scripts/stack/lib.sh
BIN="$PG_DIST/bin"
[[ -x "$BIN/postgres" ]] || {
    log "no Postgres $VERSION binaries in $BIN: run PG2ES_PG_VERSION=$VERSION scripts/stack/up.sh postgres once"
    exit 1
}
PG_LIB="$PG_DIST/lib"
log() { echo "[bench-standby-cost] $*" >&2; }
CLIENT="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -1)"
# The data directories live where the postgres user can reach them (see lib.sh).
DATA_ROOT="$(dirname "$PG_DIR")/bench-standby"
PRIMARY="$DATA_ROOT/primary" STANDBY="$DATA_ROOT/standby"
mkdir -p "$WORK" bench/results
# The server's own libraries for its binaries only: psql and pgbench stay Debian's.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- env LD_LIBRARY_PATH="$PG_LIB" "$@"; else env LD_LIBRARY_PATH="$PG_LIB" "$@"; fi; }

cores=$(nproc)
PRIMARY_CORE=0 STANDBY_CORE=$((cores > 1 ? 1 : 0))
ES_PID=$(cat target/stack/es/es.pid)
stop_pg() { # DATA
    if [[ -f "$1/postmaster.pid" ]]; then as_pg "$BIN/pg_ctl" -D "$1" stop -m fast -w >/dev/null || true; fi
}
start_pg() { # DATA PORT CORE
    as_pg taskset -c "$3" "$BIN/pg_ctl" -D "$1" -w -l "$1/postgres.log" start -o \
        "-p $2 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$1 -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_level=logical -c shared_buffers=256MB -c max_wal_size=4GB" >/dev/null
}
cleanup() {
    if [[ -n "${reader:-}" ]]; then kill "$reader" 2>/dev/null || true; fi
    taskset -a -p -c "0-$((cores - 1))" "$ES_PID" >/dev/null || true
    stop_pg "$STANDBY"
    stop_pg "$PRIMARY"
}
trap cleanup EXIT
taskset -a -p -c "$STANDBY_CORE" "$ES_PID" >/dev/null

# A durable primary of its own, new each run, and a standby made from a copy of it.
stop_pg "$STANDBY"
stop_pg "$PRIMARY"
rm -rf "$DATA_ROOT" && mkdir -p "$PRIMARY"
chmod 755 "$DATA_ROOT"
[[ $(id -u) == 0 ]] && chown postgres: "$PRIMARY"
as_pg "$BIN/initdb" -D "$PRIMARY" -U postgres -A trust -E UTF8 --locale=C >/dev/null
start_pg "$PRIMARY" "$PRIMARY_PORT" "$PRIMARY_CORE"
DB=pg2es_standby_cost
PRIMARY_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT/$DB"
STANDBY_URL="postgres://postgres@127.0.0.1:$STANDBY_PORT/$DB"
sql() { "$CLIENT/psql" -X -q -v ON_ERROR_STOP=1 -d "$PRIMARY_URL" "$@"; }
"$CLIENT/psql" -X -q -v ON_ERROR_STOP=1 -d "postgres://postgres@127.0.0.1:$PRIMARY_PORT/postgres" \
    -c "CREATE DATABASE $DB" -c "SELECT pg_create_physical_replication_slot('bench_standby')" >/dev/null
sql -f db/schema.sql
sql -v films="$FILMS" -f db/generate.sql >/dev/null
sql -c "$NUMBERED_SQL" -c "VACUUM ANALYZE"
stop_pg "$PRIMARY"
cp -a "$PRIMARY" "$STANDBY"
rm -rf "$STANDBY"/pg_replslot/* "$STANDBY/postmaster.pid" "$STANDBY/postgres.log"
touch "$STANDBY/standby.signal"
cat >>"$STANDBY/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=127.0.0.1 port=$PRIMARY_PORT user=postgres'
primary_slot_name = 'bench_standby'
hot_standby_feedback = on
CONF
[[ $(id -u) == 0 ]] && chown -R postgres: "$STANDBY"
start_pg "$PRIMARY" "$PRIMARY_PORT" "$PRIMARY_CORE"
start_pg "$STANDBY" "$STANDBY_PORT" "$STANDBY_CORE"
caught_up() {
    local target
    target=$(sql -At -c "SELECT pg_current_wal_lsn()")
    for _ in $(seq 1 600); do
        [[ $("$CLIENT/psql" -X -At -d "$STANDBY_URL" -c "SELECT pg_last_wal_replay_lsn() >= '$target'" 2>/dev/null) == t ]] && return 0
        sleep 0.1
    done
    log "the standby did not replay up to $target"
    exit 1
}
caught_up

write_transactions "$WORK" "$FILMS"

export PG2ES__ELASTICSEARCH__URL="$ES" PG2ES__SYNC__CAPTURE=logical \
    PG2ES__PIPELINES__MOVIES__ALIAS=bench_standby_cost PG2ES__STATE__PATH="$WORK/state.yaml" \
    PG2ES__DEAD_LETTER__PATH="$WORK/dead.ndjson" PG2ES__LOG__LEVEL=warn
pg2es() { # URL ARGS...
    local url="$1"
    shift
    PG2ES__POSTGRES__URL="$url" PG2ES__POSTGRES__PRIMARY_URL="$PRIMARY_URL" \
        taskset -c "$STANDBY_CORE" "$PG2ES" --pipeline movies "$@"
}
# Each set-up starts from an index equal to the data and a new slot: the reader then only follows.
fresh_index() { # URL
    rm -f "$WORK/state.yaml"
    bash scripts/drop-index.sh "$ES" bench_standby_cost
    pg2es "$1" setup >/dev/null
    pg2es "$1" sync --once --reset-state >/dev/null
}
start_reader() { # URL (without primary_url: the worker on a standby needs none)
    PG2ES__POSTGRES__URL="$1" taskset -c "$STANDBY_CORE" "$PG2ES" --pipeline movies run 2>>"$WORK/run.log" &
    reader=$!
}
stop_reader() { kill "$reader"; wait "$reader" 2>/dev/null || true; reader=""; }
teardown() { pg2es "$1" teardown >/dev/null; }

declare -A TPS LATENCY
measure() { # MODE
    for script in "${TRANSACTIONS[@]}"; do
        sql -c "CHECKPOINT" >/dev/null
        local tps
        tps=$(taskset -c "$PRIMARY_CORE" "$CLIENT/pgbench" -n -c 2 -j 2 -T "$SECONDS_EACH" \
            -f "$WORK/$script.sql" "$PRIMARY_URL" 2>/dev/null | awk '/^tps/ {print int($3)}')
        TPS[$1,$script]="${TPS[$1,$script]:-} $tps"
        log "round $round: $1 $script tps=$tps"
    done
}
latency() { # MODE (once, in the first round: one change at a time, the reader running)
    ((round == 1)) || return 0
    LATENCY[$1]=$(target/release/examples/latency "$PRIMARY_URL" "$ES" bench_standby_cost "$CHANGES" |
        sed -n 's/.*searchable: \(p50_ms=[0-9]* p99_ms=[0-9]*\).*/\1/p')
    log "$1: ${LATENCY[$1]}"
}
log "Postgres $VERSION, primary on core $PRIMARY_CORE, standby, Elasticsearch and pg2es on core $STANDBY_CORE"
for ((round = 1; round <= ROUNDS; round++)); do
    measure none
    fresh_index "$PRIMARY_URL"
    start_reader "$PRIMARY_URL"
    measure primary
    latency primary
    stop_reader
    teardown "$PRIMARY_URL"
    caught_up
    fresh_index "$STANDBY_URL"
    start_reader "$STANDBY_URL"
    sessions=$(sql -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg2es%'")
    measure standby
    latency standby
    stop_reader
    teardown "$STANDBY_URL"
    log "round $round: pg2es sessions on the primary while reading the standby: $sessions"
done

{
    echo "## Logical capture from a hot standby ($(date -u +%Y-%m-%d))"
    echo
    echo "\`ROUNDS=$ROUNDS scripts/bench/standby-cost.sh $FILMS $SECONDS_EACH $CHANGES\` (part of \`make bench\`) on"
    echo "Postgres $(LD_LIBRARY_PATH="$PG_LIB" "$BIN/postgres" --version | awk '{print $3}'): a durable primary (\`fsync\`, \`synchronous_commit\`, \`full_page_writes\` on, a"
    echo "CHECKPOINT before each run) and pgbench (2 clients, single-row transactions for $SECONDS_EACH s) on core"
    echo "$PRIMARY_CORE; its hot standby (a physical slot, \`hot_standby_feedback\`), Elasticsearch and pg2es on core"
    echo "$STANDBY_CORE of $cores: the primary's host and the standby's. The set-ups in turn, $ROUNDS rounds; medians in"
    echo "tps, the change against no capture (the standby streaming in every set-up), every round in brackets."
    echo
    echo "| transaction | no capture | slot on the primary, \`pg2es run\` | slot on the standby, \`pg2es run\` |"
    echo "|---|---|---|---|"
    for script in "${TRANSACTIONS[@]}"; do
        # shellcheck disable=SC2086
        none=$(median ${TPS[none,$script]})
        row="| $script | $none [${TPS[none,$script]# }] |"
        for mode in primary standby; do
            # shellcheck disable=SC2086
            m=$(median ${TPS[$mode,$script]})
            row+=" $m ($(pct "$m" "$none")) [${TPS[$mode,$script]# }] |"
        done
        echo "$row"
    done
    echo
    echo "Commit on the primary → found by a search ($CHANGES changes one at a time, refresh_interval 1 s):"
    echo "through the primary's slot ${LATENCY[primary]:-not measured}; through the standby's ${LATENCY[standby]:-not measured}."
    echo "pg2es sessions on the primary while the worker read the standby: $sessions."
    echo "Target: logical capture from the standby within 5 % of no capture. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} >"$RESULTS"
bash scripts/bench/report.sh
cat "$RESULTS"
log "wrote $RESULTS and bench/REPORT.md"
