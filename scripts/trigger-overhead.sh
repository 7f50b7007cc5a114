#!/usr/bin/env bash
# Write overhead of pg2es's capture triggers: single-row transactions per second (pgbench, 2
# clients) on generated data, without and with the triggers. Usage: scripts/trigger-overhead.sh [FILMS] [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FILMS="${1:-100000}"
SECONDS_EACH="${2:-15}"

bash scripts/stack/up.sh postgres >/dev/null
# shellcheck source=/dev/null
source target/stack.env
cargo build --release --locked --quiet --bin pg2es
DB=pg2es_overhead
DB_URL="${PG2ES_TEST_POSTGRES_URL%/*}/$DB"
PGBENCH="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pgbench"
WORK=target/overhead
mkdir -p "$WORK"

psql -X -q -v ON_ERROR_STOP=1 -d "$PG2ES_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -f db/schema.sql
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -v films="$FILMS" -f db/generate.sql >/dev/null
# Numbered ids so pgbench can pick random rows.
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
        tps=$("$PGBENCH" -n -c 2 -j 2 -T "$SECONDS_EACH" -f "$WORK/$script.sql" "$DB_URL" 2>/dev/null \
            | awk '/^tps/ {print int($3)}')
        echo "$1 $script tps=$tps"
    done
}
run "without_triggers"
PG2ES__POSTGRES__URL="$DB_URL" target/release/pg2es setup >/dev/null
run "with_triggers"
PG2ES__POSTGRES__URL="$DB_URL" target/release/pg2es teardown >/dev/null
