#!/usr/bin/env bash
# What versioned writes cost: `pg2es sync --once --reset-state` (a back-fill of FILMS generated
# films into an index that already holds them, the case where Elasticsearch compares versions
# for every document) with this checkout's release binary beside BASE's (default: the last
# commit before versions), each into an index of its own, in pairs (farm-bench --vs, RUNS
# pairs). Writes bench/results/versions.md.
#   bash scripts/bench/versions.sh [FILMS]      (RUNS=5 BASE=15161cf)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

FILMS="${1:-20000}"
RUNS="${RUNS:-5}"
BASE="${BASE:-15161cf}"
DB=pg2es_bench_versions
WORK=target/bench-versions
RESULTS=bench/results/versions.md
log() { echo "[versions] $*" >&2; }

bash scripts/stack/up.sh postgres elasticsearch >&2
# shellcheck source=/dev/null
source target/stack.env
ADMIN_URL="$PG2ES_TEST_POSTGRES_URL"
DB_URL="${ADMIN_URL%/*}/$DB"
mkdir -p "$WORK" bench/results

log "building $BASE (without versions) and this checkout, release"
rm -rf "$WORK/base"
git worktree add --force --detach "$WORK/base" "$BASE" >&2
trap 'git worktree remove --force "$WORK/base" 2>/dev/null || true' EXIT
# The base in a target directory of its own: sharing this checkout's, one build stood in for
# both binaries.
CARGO_TARGET_DIR="$PWD/$WORK/target" cargo build --release --locked --quiet --bin pg2es \
    --manifest-path "$WORK/base/Cargo.toml"
cp "$WORK/target/release/pg2es" "$WORK/pg2es-base"
cargo build --release --locked --quiet --bin pg2es
cp target/release/pg2es "$WORK/pg2es-versions"

log "database $DB with $FILMS generated films"
psql -X -q -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -f db/schema.sql >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -v films="$FILMS" -f db/generate.sql >/dev/null

# One command per binary: its own index (alias) and state file, quiet logs.
command_of() { # BINARY NAME
    echo "env PG2ES__POSTGRES__URL=$DB_URL PG2ES__ELASTICSEARCH__URL=$PG2ES_TEST_ELASTICSEARCH_URL \
PG2ES__PIPELINES__MOVIES__ALIAS=bench_$2 PG2ES__STATE__PATH=$WORK/$2.yaml \
PG2ES__DEAD_LETTER__PATH=$WORK/$2.dead.ndjson PG2ES__LOG__LEVEL=warn \
$1 --pipeline movies sync --once --reset-state"
}
new=$(command_of "$WORK/pg2es-versions" versions)
old=$(command_of "$WORK/pg2es-base" base)
# The first run of each creates its index and back-fills it (farm-bench's warm-up).
# shellcheck disable=SC2086
report=$(farm-bench -n "$RUNS" --warmup 1 --timeout 3600 --vs "$old" -- $new)
echo "$report" >&2

{
    echo "# Versioned writes: what they cost the back-fill"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, Postgres $PG2ES_TEST_PG_VERSION, Elasticsearch 7.10.2,"
    echo "$FILMS generated films. \`pg2es sync --once --reset-state\` into an index that already holds"
    echo "every film (each write replaces a document, so the index compares versions for each), A ="
    echo "this checkout (every action with \`version_type=external_gte\`, one snapshot read per batch),"
    echo "B = $BASE (no versions), each into an index of its own, $RUNS pairs after a warm-up pair."
    echo "Command: \`RUNS=$RUNS bash scripts/bench/versions.sh $FILMS\`."
    echo
    echo '```'
    echo "$report"
    echo '```'
} >"$RESULTS"
log "wrote $RESULTS"
