-- An atlas of trips, another team's kind of schema: text keys with URL-special characters,
-- spaces and non-ASCII; numeric money with more than 17 digits; double precision with NaN;
-- arrays, jsonb, an enum, a generated column, names in an ICU collation; each trip's legs in
-- a table range-partitioned by id whose partitions come and go; guides through a link table
-- keyed by (trip_id, guide_id), whose role and position are fields and sort keys; each trip's country a `one:` object and
-- each leg's port a second hop. A second pipeline is rooted at that link table (a composite
-- root key), with its notes as a list through a composite ref.
CREATE SCHEMA atlas;
CREATE TYPE atlas.trip_status AS ENUM ('draft', 'open', 'full', 'closed');

CREATE TABLE atlas.country (
    code text PRIMARY KEY,
    name text COLLATE "en-US-x-icu" NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE atlas.port (
    id integer PRIMARY KEY,
    name text COLLATE "en-US-x-icu" NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE atlas.trip (
    id text PRIMARY KEY,
    title text NOT NULL,
    price numeric,
    rating double precision,
    tags text[],
    details jsonb,
    status atlas.trip_status,
    nights integer NOT NULL DEFAULT 1,
    price_per_night numeric GENERATED ALWAYS AS (price / nullif(nights, 0)) STORED,
    country_code text REFERENCES atlas.country,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE atlas.leg (
    id bigint NOT NULL,
    trip_id text NOT NULL REFERENCES atlas.trip ON DELETE CASCADE,
    seq integer NOT NULL,
    place text COLLATE "en-US-x-icu" NOT NULL,
    cost numeric,
    port_id integer REFERENCES atlas.port ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE atlas.leg_0 PARTITION OF atlas.leg FOR VALUES FROM (0) TO (100000);
CREATE TABLE atlas.leg_1 PARTITION OF atlas.leg FOR VALUES FROM (100000) TO (200000);
CREATE INDEX ON atlas.leg (trip_id);
CREATE INDEX ON atlas.leg (port_id);
CREATE INDEX ON atlas.leg (updated_at, id);
CREATE TABLE atlas.guide (
    id integer PRIMARY KEY,
    name text COLLATE "en-US-x-icu" NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE atlas.trip_guide (
    trip_id text NOT NULL REFERENCES atlas.trip ON DELETE CASCADE,
    guide_id integer NOT NULL REFERENCES atlas.guide ON DELETE CASCADE,
    role text NOT NULL,
    position integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trip_id, guide_id)
);
-- Notes on a guide's part in a trip, keyed under the link row's composite key: the root of
-- the second pipeline (crew.yaml) is trip_guide, a composite root.
CREATE TABLE atlas.note (
    trip_id text NOT NULL,
    guide_id integer NOT NULL,
    seq integer NOT NULL,
    body text COLLATE "en-US-x-icu" NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trip_id, guide_id, seq),
    FOREIGN KEY (trip_id, guide_id) REFERENCES atlas.trip_guide ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX ON atlas.note (updated_at, trip_id, guide_id, seq);
CREATE INDEX ON atlas.trip_guide (guide_id);
CREATE INDEX ON atlas.trip (updated_at, id);
CREATE INDEX ON atlas.trip_guide (updated_at, trip_id, guide_id);

INSERT INTO atlas.country (code, name) VALUES
    ('fr', 'France'), ('de', 'Deutschland'), ('is', 'Ísland'), ('es', 'españa'), ('it', 'Italia');
INSERT INTO atlas.port (id, name) SELECT g, (ARRAY['Zeebrugge', 'de Haan', 'Ålesund', 'Éze', 'brest'])[1 + g % 5] || ' ' || g
FROM generate_series(1, 20) g;
INSERT INTO atlas.guide (id, name) SELECT g, (ARRAY['Dumas', 'Zola', 'de la Cruz', 'Émile', 'émile', 'Ólafur'])[1 + g % 6] || ' ' || g
FROM generate_series(1, 40) g;
INSERT INTO atlas.trip (id, title, price, rating, tags, details, status, nights, country_code)
SELECT (ARRAY['trip/', 'a?b ', 'c%d#', 'été ', 'x'])[1 + g % 5] || g,
       'Trip ' || g,
       CASE g % 4 WHEN 0 THEN 123456789012345678.25 + g WHEN 1 THEN 0.100000000000000000001 * g
                  WHEN 2 THEN 'NaN' ELSE NULL END,
       CASE g % 5 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity'::float8 ELSE g / 7.0 END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE ARRAY['sea', 'é ' || g, NULL] END,
       jsonb_build_object('n', 12345678901234567890 + g, 'k', 'v' || g),
       (enum_range(NULL::atlas.trip_status))[1 + g % 4],
       g % 9,
       CASE WHEN g % 6 = 0 THEN NULL ELSE (ARRAY['fr', 'de', 'is', 'es', 'it'])[1 + g % 5] END
FROM generate_series(1, 120) g;
INSERT INTO atlas.leg (id, trip_id, seq, place, cost, port_id)
SELECT g, (SELECT id FROM atlas.trip ORDER BY id OFFSET g % 120 LIMIT 1), g % 7,
       (ARRAY['Zurich', 'århus', 'de Panne', 'Óbidos', 'amsterdam'])[1 + g % 5],
       CASE WHEN g % 5 = 0 THEN NULL ELSE 1.000000000000000000001 * g END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE 1 + g % 20 END
FROM generate_series(1, 600) g;
INSERT INTO atlas.trip_guide (trip_id, guide_id, role, position)
SELECT t.id, 1 + (t.n * 7 + k) % 40, (ARRAY['lead', 'cook', 'Driver'])[1 + k % 3], 3 - k
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM atlas.trip) t, generate_series(0, 2) k;
INSERT INTO atlas.note (trip_id, guide_id, seq, body)
SELECT tg.trip_id, tg.guide_id, k, (ARRAY['Zeit', 'ärger', 'de facto', 'Écrit', 'écrit'])[1 + (tg.guide_id + k) % 5]
FROM atlas.trip_guide tg, generate_series(1, 2) k
WHERE tg.guide_id % 3 <> 0;
