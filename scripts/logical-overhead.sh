#!/usr/bin/env bash
# Write cost of logical capture on a durable Postgres (fsync = on, synchronous_commit = on, a
# cluster of its own under target/durable-pg; the test stack stays fast): single-row
# transactions per second (pgbench, 2 clients) on generated data
#   - without capture,
#   - with a pgoutput slot read by pg_recvlogical (the decoding cost alone),
#   - with the slot read by `pg2es run` writing to Elasticsearch (on the same machine, so its
#     CPU and Elasticsearch's count against Postgres here).
# Usage: scripts/logical-overhead.sh [FILMS] [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FILMS="${1:-100000}"
SECONDS_EACH="${2:-15}"
PORT="${PG2ES_DURABLE_PORT:-55499}"

bash scripts/stack/up.sh elasticsearch >/dev/null
# shellcheck source=/dev/null
source target/stack.env
cargo build --release --locked --quiet --bin pg2es
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
DATA="$PWD/target/durable-pg"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A durable cluster of its own, new each run.
[[ -f "$DATA/postmaster.pid" ]] && as_pg "$BIN/pg_ctl" -D "$DATA" stop -m fast -w >/dev/null || true
rm -rf "$DATA" && mkdir -p "$DATA"
[[ $(id -u) == 0 ]] && chown postgres: "$DATA"
as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C >/dev/null
as_pg "$BIN/pg_ctl" -D "$DATA" -w -l "$DATA/postgres.log" start -o \
    "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DATA -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_level=logical -c shared_buffers=256MB -c max_wal_size=4GB" >/dev/null
trap 'as_pg "$BIN/pg_ctl" -D "$DATA" stop -m fast -w >/dev/null' EXIT
DB=pg2es_overhead
DB_URL="postgres://postgres@127.0.0.1:$PORT/$DB"
WORK=target/overhead
mkdir -p "$WORK"

psql -X -q -v ON_ERROR_STOP=1 -d "postgres://postgres@127.0.0.1:$PORT/postgres" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -f db/schema.sql
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -v films="$FILMS" -f db/generate.sql >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -c "
    CREATE TABLE public.film_n AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM content.film_work;
    CREATE UNIQUE INDEX ON public.film_n (n);
    CREATE TABLE public.person_n AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM content.person;
    CREATE UNIQUE INDEX ON public.person_n (n);"

cat > "$WORK/update_film.sql" <<SQL
\set k random(1, $FILMS)
UPDATE content.film_work SET rating = 5, updated_at = now() WHERE id = (SELECT id FROM public.film_n WHERE n = :k);
SQL
cat > "$WORK/insert_link.sql" <<SQL
\set f random(1, $FILMS)
\set p random(1, $FILMS)
INSERT INTO content.person_film_work (film_work_id, person_id, role)
    VALUES ((SELECT id FROM public.film_n WHERE n = :f), (SELECT id FROM public.person_n WHERE n = :p), 'writer')
    ON CONFLICT DO NOTHING;
SQL
cat > "$WORK/update_person.sql" <<SQL
\set p random(1, $FILMS)
UPDATE content.person SET full_name = full_name, updated_at = now() WHERE id = (SELECT id FROM public.person_n WHERE n = :p);
SQL

run() {
    for script in update_film insert_link update_person; do
        tps=$("$BIN/pgbench" -n -c 2 -j 2 -T "$SECONDS_EACH" -f "$WORK/$script.sql" "$DB_URL" 2>/dev/null \
            | awk '/^tps/ {print int($3)}')
        echo "$1 $script tps=$tps"
    done
}
export PG2ES__POSTGRES__URL="$DB_URL" PG2ES__ELASTICSEARCH__URL="$PG2ES_TEST_ELASTICSEARCH_URL" \
    PG2ES__PIPELINES__MOVIES__ALIAS=overhead_logical PG2ES__STATE__PATH="$WORK/state.yaml" \
    PG2ES__DEAD_LETTER__PATH="$WORK/dead.ndjson" PG2ES__SYNC__CAPTURE=logical PG2ES__LOG__LEVEL=warn

run "no_capture"

target/release/pg2es --pipeline movies setup >/dev/null
SLOT=$(psql -X -At -d "$DB_URL" -c "SELECT slot_name FROM pg_replication_slots LIMIT 1")
"$BIN/pg_recvlogical" -d "$DB_URL" --slot "$SLOT" --start -f /dev/null \
    -o proto_version=1 -o publication_names="$SLOT" &
reader=$!
run "logical_decoding_only"
kill "$reader"; wait "$reader" 2>/dev/null || true

bash scripts/drop-index.sh "$PG2ES_TEST_ELASTICSEARCH_URL" overhead_logical
target/release/pg2es --pipeline movies sync --once --reset-state >/dev/null
target/release/pg2es --pipeline movies run &
worker=$!
run "logical_pg2es_streaming"
kill "$worker"; wait "$worker" 2>/dev/null || true
target/release/pg2es --pipeline movies teardown >/dev/null
