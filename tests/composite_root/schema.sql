-- Bus lines keyed by (operator, code), a composite key that is the document _id; keys hold
-- `/`, `%`, spaces and non-ASCII, the characters its text encodes or could be confused by.
-- Every relation to a composite key is a composite ref: a line's depot (a `one:` object), its
-- calls (a child list, each with its station, a second hop keyed by (city, name)) and its
-- drivers through shifts (a link table keyed by the line's two columns and the driver's).
CREATE SCHEMA route;
CREATE TABLE route.depot (
    region text NOT NULL,
    num integer NOT NULL,
    name text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region, num)
);
CREATE TABLE route.line (
    operator text NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    fare numeric NOT NULL,
    depot_region text,
    depot_num integer,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator, code),
    FOREIGN KEY (depot_region, depot_num) REFERENCES route.depot
);
CREATE TABLE route.station (
    city text NOT NULL,
    name text NOT NULL,
    zone integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (city, name)
);
CREATE TABLE route.call (
    line_operator text NOT NULL,
    line_code text NOT NULL,
    seq integer NOT NULL,
    station_city text NOT NULL,
    station_name text NOT NULL,
    minutes integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (line_operator, line_code, seq),
    FOREIGN KEY (line_operator, line_code) REFERENCES route.line ON UPDATE CASCADE,
    FOREIGN KEY (station_city, station_name) REFERENCES route.station ON UPDATE CASCADE
);
CREATE TABLE route.driver (
    id integer PRIMARY KEY,
    name text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE route.shift (
    line_operator text NOT NULL,
    line_code text NOT NULL,
    driver_id integer NOT NULL REFERENCES route.driver,
    since date NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (line_operator, line_code, driver_id),
    FOREIGN KEY (line_operator, line_code) REFERENCES route.line ON UPDATE CASCADE
);
-- Lists inside lists: each call's notices (keyed under the call's three columns) and each
-- driver's licences.
CREATE TABLE route.notice (
    line_operator text NOT NULL,
    line_code text NOT NULL,
    call_seq integer NOT NULL,
    num integer NOT NULL,
    body text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (line_operator, line_code, call_seq, num),
    FOREIGN KEY (line_operator, line_code, call_seq) REFERENCES route.call
        ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE TABLE route.licence (
    driver_id integer NOT NULL REFERENCES route.driver ON DELETE CASCADE,
    class text NOT NULL,
    until date,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (driver_id, class)
);
CREATE INDEX ON route.notice (updated_at, line_operator, line_code, call_seq, num);
CREATE INDEX ON route.licence (updated_at, driver_id, class);
CREATE INDEX ON route.line (updated_at, operator, code);
CREATE INDEX ON route.call (updated_at, line_operator, line_code, seq);
CREATE INDEX ON route.shift (updated_at, line_operator, line_code, driver_id);

INSERT INTO route.depot (region, num, name)
VALUES ('nord', 1, 'Nord 1'), ('nord', 2, 'Nord 2'), ('süd/ost', 1, 'Süd-Ost 1');
INSERT INTO route.line (operator, code, name, fare, depot_region, depot_num)
SELECT (ARRAY['RATP', 'BVG/S', 'Üstra 50%'])[1 + g % 3],
       (ARRAY['1', '1/2', '%2F', 'N 7', 'é'])[1 + g % 5] || CASE WHEN g > 5 THEN 'x' || g ELSE '' END,
       'Line ' || g,
       (g * 1.25)::numeric,
       CASE WHEN g % 4 = 0 THEN NULL WHEN g % 2 = 0 THEN 'nord' ELSE 'süd/ost' END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE 1 END
FROM generate_series(1, 9) g;
INSERT INTO route.station (city, name, zone)
VALUES ('Paris', 'Gare/Nord', 1), ('Paris', 'Bastille', 1), ('Berlin', 'Zoo', 2),
       ('Berlin', 'Zoo 2', 2), ('Hannover', 'Kröpcke', 3);
INSERT INTO route.call (line_operator, line_code, seq, station_city, station_name, minutes)
SELECT l.operator, l.code, k, s.city, s.name, 3 * k
FROM route.line l
CROSS JOIN generate_series(1, 3) k
JOIN LATERAL (SELECT * FROM route.station ORDER BY city, name OFFSET (k + length(l.code)) % 5 LIMIT 1) s ON true;
INSERT INTO route.driver (id, name) SELECT g, 'Driver ' || g FROM generate_series(1, 6) g;
INSERT INTO route.shift (line_operator, line_code, driver_id, since)
SELECT l.operator, l.code, 1 + (length(l.name) + k) % 6, date '2026-01-01' + k
FROM route.line l CROSS JOIN generate_series(1, 2) k;
INSERT INTO route.notice (line_operator, line_code, call_seq, num, body)
SELECT c.line_operator, c.line_code, c.seq, k, 'notice ' || k || ' at ' || c.seq
FROM route.call c CROSS JOIN generate_series(1, 2) k
WHERE (c.seq + length(c.line_code)) % 2 = 0;
INSERT INTO route.licence (driver_id, class, until)
SELECT d.id, cls, CASE WHEN d.id % 2 = 0 THEN date '2030-01-01' END
FROM route.driver d CROSS JOIN unnest(ARRAY['B', 'D']) cls
WHERE d.id % 3 <> 0 OR cls = 'D';
