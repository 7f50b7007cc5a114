#!/usr/bin/env bash
# Catch-up after downtime in `triggers` mode, on the real dataset (999 films): a worker stopped
# while 200 whole-table updates of the films and 200 renames of 20 people record ~203,800
# changes, then one `sync --once`. Run by each binary given (default: this tree's release
# build), each on a fresh database and index; reports changes recorded, documents written,
# seconds, peak RSS, and whether the index equals Postgres (`pg2es verify`).
#   scripts/bench/catch-up.sh [LABEL=BINARY ...]
#   e.g. scripts/bench/catch-up.sh raw=target/bench-base/pg2es collapsed=target/debug/pg2es
# Writes bench/results/catch-up.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DATASET=../shared/data/movies
UPDATES="${UPDATES:-200}"
RESULTS=bench/results/catch-up.md
WORK=target/bench-catch-up
log() { echo "[bench-catch-up] $*" >&2; }

bash scripts/stack/up.sh postgres elasticsearch >&2
# shellcheck source=/dev/null
source target/stack.env
ES="$PG2ES_TEST_ELASTICSEARCH_URL"
ADMIN_URL="$PG2ES_TEST_POSTGRES_URL"
mkdir -p "$WORK" bench/results

if [[ $# -eq 0 ]]; then
    cargo build --release --locked --quiet --bin pg2es
    set -- "collapsed=target/release/pg2es"
fi

# The writes made while the worker is down: each statement its own transaction.
{
    for ((i = 1; i <= UPDATES; i++)); do
        echo "UPDATE content.film_work SET rating = coalesce(rating, 0), updated_at = now();"
        echo "UPDATE content.person SET full_name = full_name, updated_at = now()
              WHERE id IN (SELECT id FROM content.person ORDER BY id LIMIT 20);"
    done
} >"$WORK/writes.sql"

peak_rss_mb() { awk '/Maximum resident/ {printf "%.0f", $6 / 1024}' "$1"; }

one_case() {
    local label=$1 bin=$2 db="pg2es_bench_catch_up_$1"
    local db_url="${ADMIN_URL%/*}/$db" dir="$WORK/$label"
    rm -rf "$dir" && mkdir -p "$dir"
    curl -s -X DELETE "$ES/${db}*" >/dev/null || true
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    psql -X -q -v ON_ERROR_STOP=1 -d "$db_url" -f db/schema.sql
    psql -X -q -v ON_ERROR_STOP=1 -d "$db_url" -f "$DATASET/content.dump" >/dev/null
    cat >"$dir/config.yaml" <<YAML
pipelines:
  movies:
    file: $PWD/pipelines/movies.yaml
    alias: $db
    index_config: $PWD/index_config.json
YAML
    local run=("$bin" --config "$dir/config.yaml")
    export PG2ES__POSTGRES__URL="$db_url" PG2ES__ELASTICSEARCH__URL="$ES" \
        PG2ES__SYNC__CAPTURE=triggers PG2ES__STATE__PATH="$dir/state.yaml" \
        PG2ES__DEAD_LETTER__PATH="$dir/dead_letter.ndjson"
    "${run[@]}" setup >/dev/null
    "${run[@]}" sync --once >/dev/null 2>&1
    log "$label: recording the writes of the downtime"
    psql -X -q -v ON_ERROR_STOP=1 -d "$db_url" -f "$WORK/writes.sql" >/dev/null
    local recorded
    recorded=$(psql -X -qAt -d "$db_url" -c "SELECT count(*) FROM pg2es.changes")
    log "$label: $recorded changes recorded; catching up"
    local start end out
    start=$(date +%s.%N)
    out=$(/usr/bin/time -v -o "$dir/time.txt" "${run[@]}" sync --once 2>"$dir/sync.log")
    end=$(date +%s.%N)
    local written seconds verdict
    written=$(sed -n 's/^indexed=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
    seconds=$(python3 -c "print(f'{$end - $start:.1f}')")
    if "${run[@]}" verify >/dev/null 2>&1; then verdict=equal; else verdict=DIFFERS; fi
    echo "| $label | \`$bin\` | $recorded | $written | $seconds | $(peak_rss_mb "$dir/time.txt") | $verdict |" >>"$WORK/rows.md"
    unset PG2ES__POSTGRES__URL PG2ES__ELASTICSEARCH__URL PG2ES__SYNC__CAPTURE PG2ES__STATE__PATH PG2ES__DEAD_LETTER__PATH
    psql -X -q -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    curl -s -X DELETE "$ES/${db}*" >/dev/null || true
}

: >"$WORK/rows.md"
for case in "$@"; do
    one_case "${case%%=*}" "${case#*=}"
done

{
    echo "# Catch-up after downtime (triggers mode, real dataset, 999 films)"
    echo
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores (shared) by \`scripts/bench/catch-up.sh $*\`."
    echo "While the worker was down: $UPDATES updates of every film and $UPDATES renames of 20 people,"
    echo "each its own transaction. Then one \`sync --once\`; the index is then compared with Postgres."
    echo
    echo "| binary | path | changes recorded | documents written | seconds | peak RSS MB | index |"
    echo "|---|---|---|---|---|---|---|"
    cat "$WORK/rows.md"
} >"$RESULTS"
cat "$RESULTS"
