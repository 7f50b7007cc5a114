#!/usr/bin/env bash
# `make bench-pipelines [FILMS=100000] [ROUNDS=3]` (also run by `make bench`): declared pipelines
# against the compiled movies pipeline they replaced, on one generated data set:
#   1. the compiled pipeline (commit BASELINE, built from this project's own history into
#      target/baseline) and the declared `pipelines/movies.yaml`: `export` (Postgres and document
#      building, output discarded) and the back-fill (`sync --once`), interleaved rounds,
#      medians; and whether their bulk bodies are the same bytes;
#   2. the three pipelines (movies, genres, persons) back-filled together: time, peak RSS;
#   3. a person in 1,000 films renamed → found in movies and persons (triggers + NOTIFY).
# Writes bench/results/pipelines-FILMS.md and rebuilds bench/REPORT.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

FILMS="${FILMS:-100000}"
ROUNDS="${ROUNDS:-3}"
BASELINE=8cec35a # the last commit with the compiled src/movies
RENAMED_FILMS=1000
DB=pg2es_bench_pipelines
WORK=target/bench-pipelines
RESULTS=bench/results/pipelines-$FILMS.md
log() { echo "[bench-pipelines] $*" >&2; }

bash scripts/stack/up.sh postgres elasticsearch >&2
# shellcheck source=/dev/null
source target/stack.env
ES="$PG2ES_TEST_ELASTICSEARCH_URL"
ADMIN_URL="$PG2ES_TEST_POSTGRES_URL"
DB_URL="${ADMIN_URL%/*}/$DB"
mkdir -p "$WORK" bench/results

log "building the declared pipeline (this tree) and the compiled one ($BASELINE)"
cargo build --release --locked --quiet --bin pg2es --example bench
if [[ ! -d target/baseline-src ]]; then
    git worktree prune # a checkout removed with target/ is still registered
    git worktree add --detach target/baseline-src "$BASELINE" >&2
fi
CARGO_TARGET_DIR="$PWD/target/baseline" cargo build --release --locked --quiet \
    --manifest-path target/baseline-src/Cargo.toml --bin pg2es
DECLARED="target/release/pg2es --pipeline movies"
COMPILED="target/baseline/release/pg2es --config /nonexistent/config.yaml"
BENCH=target/release/examples/bench

sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" "$@"; }
seconds_of() { sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$1"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.3f}')" "$1" "$2"; }
now() { date +%s.%N; }
since() { python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$1"; }
peak_rss_mb() { awk '/Maximum resident/ {printf "%.0f", $6 / 1024}' "$1"; }

log "database $DB with $FILMS generated films"
psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
sql -f db/schema.sql
sql -v films="$FILMS" -f db/generate.sql >/dev/null
PERSON=00000000-0000-4000-8000-0000000be7c4
sql -c "INSERT INTO content.person (id, full_name, created_at, updated_at) VALUES ('$PERSON', 'Benchmark Person', now(), now())" \
    -c "INSERT INTO content.person_film_work (id, film_work_id, person_id, role, created_at)
        SELECT gen_random_uuid(), id, '$PERSON', 'actor', now() FROM content.film_work ORDER BY id LIMIT $RENAMED_FILMS"
sql -c "VACUUM ANALYZE"

export PG2ES__POSTGRES__URL="$DB_URL" PG2ES__ELASTICSEARCH__URL="$ES" PG2ES__LOG__LEVEL=warn
compiled_env() { # INDEX: the compiled pipeline's settings (its config had index.name/index.config)
    env PG2ES__INDEX__NAME="$1" PG2ES__INDEX__CONFIG=index_config.json \
        PG2ES__STATE__PATH="$WORK/compiled.yaml" PG2ES__DEAD_LETTER__PATH="$WORK/compiled.dead.ndjson" "${@:2}"
}
declared_env() { # INDEX
    env PG2ES__PIPELINES__MOVIES__ALIAS="$1" \
        PG2ES__STATE__PATH="$WORK/declared.yaml" PG2ES__DEAD_LETTER__PATH="$WORK/declared.dead.ndjson" "${@:2}"
}

log "the same bulk bodies?"
rm -rf "$WORK/compiled-bulk" "$WORK/declared-bulk"
compiled_env bench_compiled $COMPILED export --dir "$WORK/compiled-bulk" >/dev/null
declared_env bench_declared $DECLARED export --dir "$WORK/declared-bulk" >/dev/null
# Each body's (action, document) line pairs, compared as sorted lists: the order inside one body
# is the order Postgres returned the batch's rows in, for either pipeline.
same=$(python3 - "$WORK/compiled-bulk" "$WORK/declared-bulk" <<'PY'
import os, sys
a_dir, b_dir = sys.argv[1:]
def items(path):
    lines = open(path, encoding="utf-8").read().rstrip("\n").split("\n")
    return sorted(zip(lines[0::2], lines[1::2]))
files = sorted(os.listdir(a_dir))
if files != sorted(os.listdir(b_dir)):
    print(f"NO: {len(files)} against {len(os.listdir(b_dir))} bulk bodies")
    sys.exit()
differ = [f for f in files if items(os.path.join(a_dir, f)) != items(os.path.join(b_dir, f))]
ordered = sum(open(os.path.join(a_dir, f), "rb").read() == open(os.path.join(b_dir, f), "rb").read() for f in files)
docs = sum(len(items(os.path.join(a_dir, f))) for f in files)
if differ:
    print(f"NO: {len(differ)} of {len(files)} bodies hold other documents")
else:
    print(f"yes: {len(files)} bodies, {docs} documents, each byte for byte ({ordered} bodies also in the same order)")
PY
)
log "  $same"
rm -rf "$WORK/compiled-bulk" "$WORK/declared-bulk"

export_compiled=() export_declared=() fill_compiled=() fill_declared=()
rss_compiled=0 rss_declared=0
compiled_env x $COMPILED export >/dev/null # warm the cache the same way for both
for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS"
    export_compiled+=("$(seconds_of "$(compiled_env x $COMPILED export)")")
    export_declared+=("$(seconds_of "$(declared_env x $DECLARED export)")")
    for which in compiled declared; do
        bash scripts/drop-index.sh "$ES" "bench_$which"
        start=$(now)
        if [[ $which == compiled ]]; then
            compiled_env bench_compiled /usr/bin/time -v -o "$WORK/time.txt" $COMPILED sync --once --reset-state >/dev/null
            fill_compiled+=("$(since "$start")")
            rss_compiled=$(peak_rss_mb "$WORK/time.txt")
        else
            declared_env bench_declared /usr/bin/time -v -o "$WORK/time.txt" $DECLARED sync --once --reset-state >/dev/null
            fill_declared+=("$(since "$start")")
            rss_declared=$(peak_rss_mb "$WORK/time.txt")
        fi
        bash scripts/drop-index.sh "$ES" "bench_$which"
    done
done
t_export_compiled=$(median "${export_compiled[@]}")
t_export_declared=$(median "${export_declared[@]}")
t_fill_compiled=$(median "${fill_compiled[@]}")
t_fill_declared=$(median "${fill_declared[@]}")

log "the three pipelines back-filled together"
THREE=(PG2ES__PIPELINES__MOVIES__ALIAS=bench3_movies PG2ES__PIPELINES__GENRES__ALIAS=bench3_genres
    PG2ES__PIPELINES__PERSONS__ALIAS=bench3_persons
    PG2ES__STATE__PATH="$WORK/three.yaml" PG2ES__DEAD_LETTER__PATH="$WORK/three.dead.ndjson")
three_env() { env "${THREE[@]}" "$@"; }
for index in bench3_movies bench3_genres bench3_persons; do bash scripts/drop-index.sh "$ES" "$index"; done
start=$(now)
three_out=$(three_env /usr/bin/time -v -o "$WORK/time.txt" target/release/pg2es sync --once --reset-state)
t_three=$(since "$start")
rss_three=$(peak_rss_mb "$WORK/time.txt")
three_docs=$(head -1 <<<"$three_out" | sed -n 's/indexed=\([0-9]*\).*/\1/p')
log "  ${t_three}s, $three_docs documents, peak RSS ${rss_three} MB"

log "a person in $RENAMED_FILMS films renamed: movies and persons, triggers + NOTIFY"
three_env target/release/pg2es setup >/dev/null
three_env PG2ES__SYNC__CAPTURE=triggers target/release/pg2es sync --once >/dev/null
# A simple command in the background, so that $! is pg2es itself (a function would be a subshell
# that `kill` stops while pg2es goes on).
env "${THREE[@]}" PG2ES__SYNC__CAPTURE=triggers PG2ES__SYNC__POLL_INTERVAL=5s target/release/pg2es run &
worker=$!
for _ in $(seq 1 600); do # the worker is listening once its first cycle saved the state
    [[ -n "$(find "$WORK" -name 'three.persons.yaml' -newermt "-1 seconds" 2>/dev/null)" ]] && break
    sleep 0.05
done
sleep 1
rename_out=$($BENCH rename "$DB_URL" "$ES" bench3_movies "$PERSON" "$RENAMED_FILMS" bench3_persons)
kill "$worker"
wait "$worker" || true
t_rename=$(seconds_of "$rename_out")
three_env target/release/pg2es teardown >/dev/null
for index in bench3_movies bench3_genres bench3_persons; do bash scripts/drop-index.sh "$ES" "$index"; done
log "  ${t_rename}s"

cat >"$RESULTS" <<REPORT
## Declared pipelines, $FILMS films ($(date -u +%F))

\`make bench-pipelines FILMS=$FILMS ROUNDS=$ROUNDS\` on $(nproc) cores, Elasticsearch 7.10.2 and
Postgres on the same machine. "Compiled" is the movies pipeline in Rust at commit $BASELINE
(built from this repository's history), "declared" is \`pipelines/movies.yaml\`.

| measure | compiled | declared | declared / compiled | notes |
|---|---|---|---|---|
| same bulk bodies | | | | $same |
| \`export\`: Postgres and document building | ${t_export_compiled} s | ${t_export_declared} s | $(ratio "$t_export_declared" "$t_export_compiled") | medians of ${export_compiled[*]} / ${export_declared[*]} s |
| **back-fill** (\`sync --once\`) | ${t_fill_compiled} s | ${t_fill_declared} s | **$(ratio "$t_fill_declared" "$t_fill_compiled")** | medians of ${fill_compiled[*]} / ${fill_declared[*]} s; target ≤ 1.05 |
| peak RSS of the back-fill | ${rss_compiled} MB | ${rss_declared} MB | | last round |

| measure | result | notes |
|---|---|---|
| the three pipelines back-filled together | ${t_three} s, peak RSS ${rss_three} MB | $three_docs documents (films, genres, people) |
| person in $RENAMED_FILMS films renamed, triggers + NOTIFY | ${t_rename} s | commit → all $RENAMED_FILMS films found in movies and the person in persons; refresh_interval 1 s, target ≤ 2 s |
REPORT
bash scripts/bench/report.sh
log "wrote $RESULTS and bench/REPORT.md"
cat "$RESULTS"
