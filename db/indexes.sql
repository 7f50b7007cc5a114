-- pg2es: the indexes the indexer's queries need, on top of the `content` schema.
-- Included by db/schema.sql. For a database created from the real dataset's own
-- schema.ddl, run just this file:
--   psql -v ON_ERROR_STOP=1 -d DB -f db/indexes.sql
-- Idempotent (IF NOT EXISTS, by index name). On a large live database you may
-- prefer to run each statement by hand as CREATE INDEX CONCURRENTLY.
--
-- Lookups by film_work_id on the link tables are served by the unique indexes
-- film_work_person_role (film_work_id, person_id, role) and
-- film_work_genre (film_work_id, genre_id), which both schemas already create.

-- Keyset cursors: WHERE (updated_at, id) > ($1, $2) ORDER BY updated_at, id LIMIT n
CREATE INDEX IF NOT EXISTS film_work_updated_at_id_idx
    ON content.film_work (updated_at, id);
CREATE INDEX IF NOT EXISTS person_updated_at_id_idx
    ON content.person (updated_at, id);
CREATE INDEX IF NOT EXISTS genre_updated_at_id_idx
    ON content.genre (updated_at, id);

-- The link tables have no updated_at: cursors on (created_at, id).
CREATE INDEX IF NOT EXISTS person_film_work_created_at_id_idx
    ON content.person_film_work (created_at, id);
CREATE INDEX IF NOT EXISTS genre_film_work_created_at_id_idx
    ON content.genre_film_work (created_at, id);

-- Films of changed persons / genres. film_work_id is included so that
-- "SELECT DISTINCT film_work_id ... WHERE person_id = ANY($1)" can be an
-- index-only scan (a popular genre links to a large share of all films).
CREATE INDEX IF NOT EXISTS person_film_work_person_id_idx
    ON content.person_film_work (person_id, film_work_id);
CREATE INDEX IF NOT EXISTS genre_film_work_genre_id_idx
    ON content.genre_film_work (genre_id, film_work_id);

-- Names of the people credited on a batch of films: one lookup per credit, index-only with
-- full_name in the index (about a quarter cheaper than the primary key plus the heap at 100k
-- people; bench/NOTES.md). Index-only scans need the visibility map autovacuum keeps.
CREATE INDEX IF NOT EXISTS person_id_full_name_idx
    ON content.person (id) INCLUDE (full_name);
