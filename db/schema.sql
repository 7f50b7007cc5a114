-- pg2es: the `content` schema (movies catalogue) that the indexer reads.
--
-- Compatible with the real movies dataset's schema.ddl (see db/README.md): same
-- schema, tables, columns, types, enum types (in schema `public`), constraint and
-- index names, so the dataset's content.dump loads into it unchanged, and a
-- database created from schema.ddl works with pg2es after `db/indexes.sql`.
--
-- Additions compared with schema.ddl (they only tighten or add, never rename):
--   * created_at / updated_at: NOT NULL DEFAULT now()  (keyset cursors need them)
--   * person_film_work.film_work_id/person_id and genre_film_work.film_work_id/
--     genre_id: NOT NULL
--   * the indexer's indexes from db/indexes.sql (included at the end)
-- No triggers: keeping updated_at current on UPDATE is the application's job.
--
-- Idempotent: safe to run again (CREATE ... IF NOT EXISTS everywhere).
--   psql -v ON_ERROR_STOP=1 -d DB -f db/schema.sql

CREATE SCHEMA IF NOT EXISTS content;

-- Enum types live in `public`, as in the dataset (its DDL creates them unqualified).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type
                   WHERE typname = 'filmwork_type' AND typnamespace = 'public'::regnamespace) THEN
        CREATE TYPE public.filmwork_type AS ENUM ('movie', 'tv_show');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_type
                   WHERE typname = 'person_role' AND typnamespace = 'public'::regnamespace) THEN
        CREATE TYPE public.person_role AS ENUM ('actor', 'director', 'writer');
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS content.film_work (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title         varchar(255) NOT NULL,
    description   text,
    creation_date date,
    certificate   text,
    file_path     text,
    -- float(1) = real; DEFAULT 0.0 kept from the dataset's DDL
    rating        real DEFAULT 0.0
                  CONSTRAINT min_max_rating CHECK (rating >= 0 AND rating <= 10),
    type          public.filmwork_type NOT NULL,
    created_at    timestamp with time zone NOT NULL DEFAULT now(),
    updated_at    timestamp with time zone NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS content.person (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    full_name  varchar(255) NOT NULL,
    birth_date date,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS content.genre (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        varchar(255),
    description text,
    created_at  timestamp with time zone NOT NULL DEFAULT now(),
    updated_at  timestamp with time zone NOT NULL DEFAULT now()
);

-- The link tables have only created_at (no updated_at), as in the dataset.
CREATE TABLE IF NOT EXISTS content.person_film_work (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    film_work_id uuid NOT NULL REFERENCES content.film_work(id) ON DELETE CASCADE,
    person_id    uuid NOT NULL REFERENCES content.person(id) ON DELETE CASCADE,
    role         public.person_role NOT NULL,
    created_at   timestamp with time zone NOT NULL DEFAULT now()
);

-- Unique index (not a table constraint) with the dataset's name; ON CONFLICT
-- (film_work_id, person_id, role) works with it. Its leading column also serves
-- the indexer's lookups by film_work_id.
CREATE UNIQUE INDEX IF NOT EXISTS film_work_person_role
    ON content.person_film_work (film_work_id, person_id, role);

CREATE TABLE IF NOT EXISTS content.genre_film_work (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    film_work_id uuid NOT NULL REFERENCES content.film_work(id) ON DELETE CASCADE,
    genre_id     uuid NOT NULL REFERENCES content.genre(id) ON DELETE CASCADE,
    created_at   timestamp with time zone NOT NULL DEFAULT now()
);

-- Same remark: also serves lookups by film_work_id.
CREATE UNIQUE INDEX IF NOT EXISTS film_work_genre
    ON content.genre_film_work (film_work_id, genre_id);

\ir indexes.sql
