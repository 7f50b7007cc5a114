# shellcheck shell=bash
# The single-row transactions the source-cost benches (source-cost.sh, standby-cost.sh) run
# with pgbench, and their arithmetic. Sourced, never run.

# Numbered films and people, so that pgbench can pick one at random by number.
NUMBERED_SQL="
    CREATE TABLE public.film_n AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM content.film_work;
    CREATE UNIQUE INDEX ON public.film_n (n);
    CREATE TABLE public.person_n AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM content.person;
    CREATE UNIQUE INDEX ON public.person_n (n);"

TRANSACTIONS=(update_film insert_link update_person)

write_transactions() { # DIR FILMS: DIR/update_film.sql, insert_link.sql, update_person.sql
    cat >"$1/update_film.sql" <<SQL
\set k random(1, $2)
UPDATE content.film_work SET rating = 5, updated_at = now() WHERE id = (SELECT id FROM public.film_n WHERE n = :k);
SQL
    cat >"$1/insert_link.sql" <<SQL
\set f random(1, $2)
\set p random(1, $2)
INSERT INTO content.person_film_work (film_work_id, person_id, role)
    VALUES ((SELECT id FROM public.film_n WHERE n = :f), (SELECT id FROM public.person_n WHERE n = :p), 'writer')
    ON CONFLICT DO NOTHING;
SQL
    cat >"$1/update_person.sql" <<SQL
\set p random(1, $2)
UPDATE content.person SET full_name = full_name, updated_at = now() WHERE id = (SELECT id FROM public.person_n WHERE n = :p);
SQL
}

median() { python3 -c "import statistics,sys; print(int(statistics.median(map(float, sys.argv[1:]))))" "$@"; }
pct() { python3 -c "import sys; print(f'{(float(sys.argv[1]) / float(sys.argv[2]) - 1) * 100:+.0f} %')" "$1" "$2"; }
