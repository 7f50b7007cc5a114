#!/usr/bin/env bash
# `make bench [FILMS=100000] [PGSYNC=1]`: on one generated data set and the same servers, times
#   T_pg     Postgres alone producing the documents (`pg2es export`: pg2es's own queries and
#            serialisation, output discarded),
#   T_es     Elasticsearch alone ingesting the exact bulk bodies pg2es sends (`pg2es export --dir`
#            replayed by examples/bench.rs with the same bulk size, concurrency and settings),
#   T_pg2es  the pg2es back-fill (`pg2es sync --once`), its documents/s and peak RSS,
#   PGSync   the same data into the same server (scripts/bench/pgsync.sh),
#   and the incremental cases: 10,000 films changed at once, a person in 1,000 films renamed.
# Writes bench/results/films-FILMS.md and rebuilds bench/REPORT.md from every results file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FILMS="${FILMS:-100000}"
PGSYNC="${PGSYNC:-1}"
ROUNDS="${ROUNDS:-5}"
RENAMED_FILMS=1000
CHANGED_FILMS=10000
DB=pg2es_bench
WORK=target/bench
RESULTS=bench/results/films-$FILMS.md
log() { echo "[bench] $*" >&2; }

bash scripts/stack/up.sh postgres elasticsearch >&2
# shellcheck source=/dev/null
source target/stack.env
ES="$PG2ES_TEST_ELASTICSEARCH_URL"
ADMIN_URL="$PG2ES_TEST_POSTGRES_URL"
DB_URL="${ADMIN_URL%/*}/$DB"
# The movies pipeline only: the benchmark compares it with Elasticsearch alone and PGSync.
PG2ES="target/release/pg2es --pipeline movies"
BENCH=target/release/examples/bench
cargo build --release --locked --quiet --bin pg2es --example bench
mkdir -p "$WORK" bench/results

sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" "$@"; }
seconds_of() { sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$1"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
rate() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$1" "$2"; }

# Where the time goes: CPU seconds of the search server's JVM and of Postgres (the postmaster
# with its exited backends) around each measurement.
ES_PID=$(cat target/stack/es/es.pid)
PG_PID=$(head -1 "$(cat target/stack/pg-dir 2>/dev/null || echo target/stack/pg)/data/postmaster.pid")
cpu_of() { # PID -> CPU seconds, children that exited included
    awk -v tck="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15 + $16 + $17) / tck}' "/proc/$1/stat"
}
cpu_mark() { CPU_ES0=$(cpu_of "$ES_PID"); CPU_PG0=$(cpu_of "$PG_PID"); }
cpu_since() { # -> "PG s / ES s"
    python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print(f'{a[1]-a[0]:.1f} / {a[3]-a[2]:.1f}')" \
        "$CPU_PG0" "$(cpu_of "$PG_PID")" "$CPU_ES0" "$(cpu_of "$ES_PID")"
}

worker_env() { # INDEX STATE_NAME CAPTURE
    export PG2ES__POSTGRES__URL="$DB_URL" PG2ES__ELASTICSEARCH__URL="$ES" PG2ES__PIPELINES__MOVIES__ALIAS="$1" \
        PG2ES__STATE__PATH="$WORK/$2.yaml" PG2ES__DEAD_LETTER__PATH="$WORK/$2.dead.ndjson" \
        PG2ES__SYNC__CAPTURE="$3" PG2ES__LOG__LEVEL=warn
}

log "database $DB with $FILMS generated films"
psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
sql -f db/schema.sql
generate_start=$(date +%s.%N)
sql -v films="$FILMS" -f db/generate.sql >/dev/null
generate_seconds=$(python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$generate_start")
# One person acting in the first 1,000 films, for the rename case.
PERSON=00000000-0000-4000-8000-0000000be7c4
sql -c "INSERT INTO content.person (id, full_name, created_at, updated_at) VALUES ('$PERSON', 'Benchmark Person', now(), now())" \
    -c "INSERT INTO content.person_film_work (id, film_work_id, person_id, role, created_at)
        SELECT gen_random_uuid(), id, '$PERSON', 'actor', now() FROM content.film_work ORDER BY id LIMIT $RENAMED_FILMS"
sql -c "VACUUM ANALYZE"
docs=$(sql -At -c "SELECT count(*) FROM content.film_work")

log "T_pg: pg2es export, output discarded"
worker_env bench_export export polling
$PG2ES export >/dev/null # warm the cache the same way for every measurement
cpu_mark
t_pg_out=$($PG2ES export)
cpu_pg=$(cpu_since)
t_pg=$(seconds_of "$t_pg_out")
log "  $t_pg_out"

log "T_es and T_pg2es, $ROUNDS rounds of each, interleaved (this machine is noisy: medians count)"
rm -rf "$WORK/bulk"
$PG2ES export --dir "$WORK/bulk" >/dev/null
bulks=$(find "$WORK/bulk" -name '*.ndjson' | wc -l)
bulk_mb=$(du -sm "$WORK/bulk" | cut -f1)
concurrency="${PG2ES__SYNC__BULK_CONCURRENCY:-3}"
t_es_all=() t_pg2es_all=() rss_all=()
wall_of() { # /usr/bin/time -v output -> seconds
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
seconds = 0.0
for part in clock.split(":"):
    seconds = seconds * 60 + float(part)
print(f"{seconds:.2f}")
PY
}
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
# The search server's JIT is cold after a start: an unmeasured replay of the first bulks warms
# it, so that the first measured round is not slower for that alone.
mkdir -p "$WORK/warm-up"
bodies=("$WORK"/bulk/*.ndjson)
for body in "${bodies[@]:0:100}"; do ln -sf "$PWD/$body" "$WORK/warm-up/"; done
$BENCH replay "$ES" bench_warm_up index_config.json "$WORK/warm-up" "$concurrency" >/dev/null
curl -s -o /dev/null -X DELETE "$ES/bench_warm_up"
rm -rf "$WORK/warm-up"
for round in $(seq 1 "$ROUNDS"); do
    cpu_mark
    t_es_out=$($BENCH replay "$ES" bench_replay index_config.json "$WORK/bulk" "$concurrency")
    cpu_es=$(cpu_since)
    t_es_all+=("$(seconds_of "$t_es_out")")
    curl -s -o /dev/null -X DELETE "$ES/bench_replay"
    log "  round $round T_es: $t_es_out (CPU s Postgres / ES: $cpu_es)"

    bash scripts/drop-index.sh "$ES" bench_pg2es
    worker_env bench_pg2es pg2es polling
    cpu_mark
    /usr/bin/time -v -o "$WORK/time.txt" $PG2ES sync --once --reset-state >"$WORK/sync.out"
    cpu_pg2es=$(cpu_since)
    t_pg2es_all+=("$(wall_of "$WORK/time.txt")")
    rss_all+=("$(awk '/Maximum resident set size/ {printf "%.0f", $6 / 1024}' "$WORK/time.txt")")
    cpu=$(awk -F': ' '/Percent of CPU/ {print $2}' "$WORK/time.txt")
    own_cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$WORK/time.txt")
    indexed=$(curl -s "$ES/bench_pg2es/_count" | python3 -c "import json,sys; print(json.load(sys.stdin)['count'])")
    log "  round $round T_pg2es: $(cat "$WORK/sync.out") wall=${t_pg2es_all[-1]}s rss=${rss_all[-1]}MB cpu=$cpu count=$indexed (CPU s Postgres / ES: $cpu_pg2es)"
    [[ "$indexed" == "$docs" ]] || { log "index has $indexed documents, Postgres $docs"; exit 1; }
done

# Two cores are shared here: whatever CPU Postgres uses is taken from the search server. T_both
# runs both halves at once, uncoupled (the replay and `pg2es export`), as the limit of this
# machine for doing both jobs; pg2es's own pipeline is what T_pg2es adds on top of it.
log "T_both: the replay and pg2es export at the same time"
start=$(date +%s.%N)
$BENCH replay "$ES" bench_replay index_config.json "$WORK/bulk" "$concurrency" >/dev/null &
replay=$!
$PG2ES export >/dev/null
wait "$replay"
t_both=$(python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start")
curl -s -o /dev/null -X DELETE "$ES/bench_replay"
log "  T_both: ${t_both}s"

# The same on separate cores: the search server on core 0; Postgres, pg2es and the loader on
# core 1. A machine where they do not compete, with half the cores: E_split tells whether pg2es
# keeps the search server busy when nothing takes CPU from it.
split_row="| E on separate cores | not run (one core) | | | |"
if (( $(nproc) >= 2 )); then
    all_cores="0-$(( $(nproc) - 1 ))"
    restore_cores() {
        taskset -a -p -c "$all_cores" "$ES_PID" >/dev/null
        taskset -a -p -c "$all_cores" "$PG_PID" >/dev/null
    }
    trap restore_cores EXIT
    taskset -a -p -c 0 "$ES_PID" >/dev/null
    taskset -a -p -c 1 "$PG_PID" >/dev/null # new backends inherit it
    split_rounds=$(( ROUNDS < 3 ? ROUNDS : 3 ))
    log "E on separate cores, $split_rounds rounds"
    worker_env bench_export export polling
    t_pg_split=$(seconds_of "$(taskset -c 1 $PG2ES export)")
    t_es_split_all=() t_pg2es_split_all=()
    for round in $(seq 1 "$split_rounds"); do
        t_es_split_all+=("$(seconds_of "$(taskset -c 1 $BENCH replay "$ES" bench_replay index_config.json "$WORK/bulk" "$concurrency")")")
        curl -s -o /dev/null -X DELETE "$ES/bench_replay"
        bash scripts/drop-index.sh "$ES" bench_pg2es
        worker_env bench_pg2es pg2es polling
        start=$(date +%s.%N)
        taskset -c 1 $PG2ES sync --once --reset-state >/dev/null
        t_pg2es_split_all+=("$(python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start")")
        log "  round $round: T_es ${t_es_split_all[-1]}s, T_pg2es ${t_pg2es_split_all[-1]}s (T_pg ${t_pg_split}s)"
    done
    restore_cores
    trap - EXIT
    t_es_split=$(median "${t_es_split_all[@]}")
    t_pg2es_split=$(median "${t_pg2es_split_all[@]}")
    split_limit=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$t_pg_split" "$t_es_split")
    split_row="| E on separate cores | ${t_pg2es_split} s | $(rate "$docs" "$t_pg2es_split") docs/s | **E = $(ratio "$t_pg2es_split" "$split_limit")** | search server on core 0; Postgres, pg2es and the loader on core 1 (\`taskset\`). T_pg2es median of ${t_pg2es_split_all[*]} s; T_es there ${t_es_split} s (median of ${t_es_split_all[*]} s), T_pg ${t_pg_split} s |"
fi
rm -rf "$WORK/bulk"
t_es=$(median "${t_es_all[@]}")
t_pg2es=$(median "${t_pg2es_all[@]}")
rss_mb=$(printf '%s\n' "${rss_all[@]}" | sort -n | tail -1)
limit=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$t_pg" "$t_es")
efficiency=$(ratio "$t_pg2es" "$limit")
shared_efficiency=$(ratio "$t_pg2es" "$t_both")

log "incremental: $CHANGED_FILMS films changed in one transaction (polling)"
sql -c "UPDATE content.film_work SET rating = round((random() * 10)::numeric, 1), updated_at = now()
        WHERE id IN (SELECT id FROM content.film_work ORDER BY id DESC LIMIT $CHANGED_FILMS)"
start=$(date +%s.%N)
changed_out=$($PG2ES sync --once)
changed_seconds=$(python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start")
log "  $changed_out in ${changed_seconds}s"

rename_case() { # CAPTURE POLL_INTERVAL
    PG2ES__SYNC__CAPTURE="$1" $PG2ES sync --once >/dev/null # caught up before the clock starts
    local before state="${PG2ES__STATE__PATH%.yaml}.movies.yaml" # the movies pipeline's state file
    before=$(date -r "$state" +%s.%N 2>/dev/null || echo none)
    PG2ES__SYNC__CAPTURE="$1" PG2ES__SYNC__POLL_INTERVAL="$2" $PG2ES run &
    local worker=$!
    # The worker listens before its first cycle, which ends by saving the state file.
    for _ in $(seq 1 600); do
        [[ "$(date -r "$state" +%s.%N)" != "$before" ]] && break
        sleep 0.05
    done
    local out
    out=$($BENCH rename "$DB_URL" "$ES" bench_pg2es "$PERSON" "$RENAMED_FILMS")
    kill "$worker"
    wait "$worker" || true
    seconds_of "$out"
}
log "a person in $RENAMED_FILMS films renamed: polling every 1s"
rename_polling=$(rename_case polling 1s)
log "  ${rename_polling}s"
log "a person in $RENAMED_FILMS films renamed: triggers + NOTIFY"
$PG2ES setup >/dev/null
rename_triggers=$(rename_case triggers 5s)
log "  ${rename_triggers}s"
$PG2ES teardown >/dev/null
log "a person in $RENAMED_FILMS films renamed: logical replication"
PG2ES__SYNC__CAPTURE=logical $PG2ES setup >/dev/null
rename_logical=$(rename_case logical 5s)
log "  ${rename_logical}s"
PG2ES__SYNC__CAPTURE=logical $PG2ES teardown >/dev/null
bash scripts/drop-index.sh "$ES" bench_pg2es

pgsync_row="| PGSync | not run (PGSYNC=0) | | | |"
if [[ "$PGSYNC" == 1 ]]; then
    log "PGSync: the same data into the same server"
    curl -s -o /dev/null -X DELETE "$ES/bench_pgsync"
    if pgsync_out=$(bash scripts/bench/pgsync.sh "$DB_URL" "$ES" bench_pgsync 2>"$WORK/pgsync.err" | tail -1) &&
        [[ "$pgsync_out" == pgsync_seconds=* ]]; then
        t_pgsync=$(sed -n 's/pgsync_seconds=\([0-9.]*\).*/\1/p' <<<"$pgsync_out")
        pgsync_docs=$(sed -n 's/.*documents=\([0-9]*\).*/\1/p' <<<"$pgsync_out")
        pgsync_row="| PGSync back-fill | ${t_pgsync} s | $(rate "$pgsync_docs" "$t_pgsync") docs/s | $(ratio "$t_pgsync" "$t_pg2es")× the pg2es time | $pgsync_docs documents |"
    else
        reason=$(tail -3 "$WORK/pgsync.err" | tr '\n|' ' /')
        pgsync_row="| PGSync back-fill | failed: $reason | | | |"
    fi
    curl -s -o /dev/null -X DELETE "$ES/bench_pgsync"
    log "  $pgsync_row"
fi

es_version=$(curl -s "$ES" | python3 -c "import json,sys; print(json.load(sys.stdin)['version']['number'])")
pg_version=$(psql -X -At -d "$ADMIN_URL" -c "SHOW server_version")
cat >"$RESULTS" <<EOF
## $(printf "%'d" "$FILMS") films ($(date -u +%Y-%m-%d))

\`make bench FILMS=$FILMS ROUNDS=$ROUNDS\` on $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),
$(free -g | awk '/Mem:/ {print $2}') GiB; Postgres $pg_version, Elasticsearch $es_version (one node), all on
loopback. $docs documents, $bulks bulk requests, $bulk_mb MB of bulk bodies; batch_size 500,
bulk_concurrency $concurrency. Generating the data took ${generate_seconds} s.

| measure | time | rate | ratio | notes |
|---|---|---|---|---|
| T_pg: Postgres producing the documents | ${t_pg} s | $(rate "$docs" "$t_pg") docs/s | | \`pg2es export\`, output discarded; CPU s Postgres / ES: ${cpu_pg} |
| T_es: Elasticsearch ingesting the bulk bodies | ${t_es} s | $(rate "$docs" "$t_es") docs/s | | median of ${t_es_all[*]} s; replayed by \`examples/bench.rs\`; last round CPU s Postgres / ES: ${cpu_es} |
| T_both: both at once, uncoupled | ${t_both} s | | | the replay and \`pg2es export\` started together; this machine's limit for doing both (its cores are shared) |
| **T_pg2es: pg2es back-fill** | **${t_pg2es} s** | **$(rate "$docs" "$t_pg2es") docs/s** | **E = ${efficiency}** (${shared_efficiency} of T_both) | median of ${t_pg2es_all[*]} s; peak RSS ${rss_mb} MB; last round CPU s pg2es ${own_cpu} (${cpu}), Postgres / ES: ${cpu_pg2es} |
$split_row
$pgsync_row
| $CHANGED_FILMS films changed at once (polling) | ${changed_seconds} s | $(rate "$CHANGED_FILMS" "$changed_seconds") docs/s | | \`pg2es sync --once\` after one UPDATE |
| person in $RENAMED_FILMS films renamed, polling every 1 s | ${rename_polling} s | | | commit → all $RENAMED_FILMS found by a search |
| person in $RENAMED_FILMS films renamed, triggers + NOTIFY | ${rename_triggers} s | | | refresh_interval 1 s |
| person in $RENAMED_FILMS films renamed, logical replication | ${rename_logical} s | | | target: within 2 refresh intervals (2 s) |

E = T_pg2es / max(T_pg, T_es); target ≤ 1.15.
EOF

bash scripts/bench/report.sh
log "wrote $RESULTS and bench/REPORT.md"
cat "$RESULTS"
