#!/usr/bin/env bash
# What exact capture costs the source database, on durable settings: pgbench single-row
# transactions (2 clients) for film updates, link inserts and person updates, with
#   none       no capture,
#   triggers   what `pg2es setup` installs (row triggers + a statement NOTIFY trigger),
#   statement  an attempt to lower it: statement-level triggers over transition tables
#              (scripts/bench/statement-triggers.sql; bench only).
# The test stack's Postgres runs with fsync and synchronous_commit off; this bench turns them
# on (ALTER SYSTEM, reloaded) for its run and puts them back when it ends.
# The three are measured in turn, ROUNDS times (the machine is shared: noise is large), and
# the median of each is reported.
#   ROUNDS=3 scripts/bench/trigger-cost.sh [FILMS=20000] [SECONDS=15]
# Writes bench/results/trigger-cost.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
FILMS="${1:-20000}"
SECONDS_EACH="${2:-15}"
ROUNDS="${ROUNDS:-3}"
RESULTS=bench/results/trigger-cost.md
WORK=target/bench-trigger-cost
log() { echo "[bench-trigger-cost] $*" >&2; }

bash scripts/stack/up.sh postgres >&2
# shellcheck source=/dev/null
source target/stack.env
ADMIN_URL="$PG2ES_TEST_POSTGRES_URL"
DB=pg2es_bench_trigger_cost
DB_URL="${ADMIN_URL%/*}/$DB"
PGBENCH="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pgbench"
PG2ES="${PG2ES:-target/release/pg2es}"
[[ -x "$PG2ES" ]] || cargo build --release --locked --quiet --bin pg2es
mkdir -p "$WORK" bench/results

admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URL" "$@"; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" "$@"; }
durable() {
    admin -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
        -c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null
}
restore() {
    admin -c "ALTER SYSTEM RESET fsync" -c "ALTER SYSTEM RESET synchronous_commit" \
        -c "ALTER SYSTEM RESET full_page_writes" -c "SELECT pg_reload_conf()" >/dev/null
}
trap restore EXIT

admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
sql -f db/schema.sql
sql -v films="$FILMS" -f db/generate.sql >/dev/null
sql -c "
    CREATE TABLE public.film_n AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM content.film_work;
    CREATE UNIQUE INDEX ON public.film_n (n);
    CREATE TABLE public.person_n AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM content.person;
    CREATE UNIQUE INDEX ON public.person_n (n);" -c "VACUUM ANALYZE"
cat >"$WORK/update_film.sql" <<SQL
\set k random(1, $FILMS)
UPDATE content.film_work SET rating = 5, updated_at = now() WHERE id = (SELECT id FROM public.film_n WHERE n = :k);
SQL
cat >"$WORK/insert_link.sql" <<SQL
\set f random(1, $FILMS)
\set p random(1, $FILMS)
INSERT INTO content.person_film_work (film_work_id, person_id, role)
    VALUES ((SELECT id FROM public.film_n WHERE n = :f), (SELECT id FROM public.person_n WHERE n = :p), 'writer')
    ON CONFLICT DO NOTHING;
SQL
cat >"$WORK/update_person.sql" <<SQL
\set p random(1, $FILMS)
UPDATE content.person SET full_name = full_name, updated_at = now() WHERE id = (SELECT id FROM public.person_n WHERE n = :p);
SQL

durable
log "fsync=$(psql -X -qAt -d "$DB_URL" -c 'SHOW fsync') synchronous_commit=$(psql -X -qAt -d "$DB_URL" -c 'SHOW synchronous_commit')"
declare -A TPS
measure() {
    for script in update_film insert_link update_person; do
        sql -c "CHECKPOINT" >/dev/null
        local tps
        tps=$("$PGBENCH" -n -c 2 -j 2 -T "$SECONDS_EACH" -f "$WORK/$script.sql" "$DB_URL" 2>/dev/null |
            awk '/^tps/ {print int($3)}')
        TPS[$1,$script]="${TPS[$1,$script]:-} $tps"
        log "round $round: $1 $script tps=$tps"
    done
}
for ((round = 1; round <= ROUNDS; round++)); do
    measure none
    PG2ES__POSTGRES__URL="$DB_URL" "$PG2ES" setup >/dev/null 2>&1
    measure triggers
    sql -f scripts/bench/statement-triggers.sql
    measure statement
    PG2ES__POSTGRES__URL="$DB_URL" "$PG2ES" teardown >/dev/null 2>&1
done
median() { python3 -c "import statistics,sys; print(int(statistics.median(map(float, sys.argv[1:]))))" "$@"; }

pct() { python3 -c "import sys; print(f'{(float(sys.argv[1]) / float(sys.argv[2]) - 1) * 100:+.0f} %')" "$1" "$2"; }
{
    echo "# What exact capture costs the source database (durable settings)"
    echo
    echo "Measured $(date -u +%Y-%m-%d) by \`ROUNDS=$ROUNDS scripts/bench/trigger-cost.sh $FILMS $SECONDS_EACH\`: pgbench, 2"
    echo "clients, single-row transactions for $SECONDS_EACH s each, $FILMS generated films, Postgres with"
    echo "\`fsync = on\`, \`synchronous_commit = on\`, \`full_page_writes = on\`, a CHECKPOINT before each run;"
    echo "the three set-ups in turn, $ROUNDS rounds, medians (every round's figure in brackets)."
    echo "The machine is shared (2 cores, other builds running): the noise is large."
    echo
    echo "| transaction | no capture (tps) | triggers (tps) | statement-level triggers (tps) |"
    echo "|---|---|---|---|"
    for script in update_film insert_link update_person; do
        # shellcheck disable=SC2086
        none=$(median ${TPS[none,$script]}) trig=$(median ${TPS[triggers,$script]}) stmt=$(median ${TPS[statement,$script]})
        echo "| $script | $none [${TPS[none,$script]# }] | $trig ($(pct "$trig" "$none")) [${TPS[triggers,$script]# }] | $stmt ($(pct "$stmt" "$none")) [${TPS[statement,$script]# }] |"
    done
} >"$RESULTS"
cat "$RESULTS"
