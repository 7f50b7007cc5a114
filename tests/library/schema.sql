-- A library: books, and their copies in a table range-partitioned by id (one partition per
-- thousand copies), whose partitions come and go.
CREATE SCHEMA lib;
CREATE TABLE lib.book (
    id bigint PRIMARY KEY,
    title text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE lib.copy (
    id bigint PRIMARY KEY,
    book_id bigint NOT NULL REFERENCES lib.book (id),
    branch text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (id);
CREATE INDEX ON lib.copy (updated_at, id);
CREATE INDEX ON lib.copy (book_id);
CREATE TABLE lib.copy_0 PARTITION OF lib.copy FOR VALUES FROM (0) TO (1000);
CREATE TABLE lib.copy_1 PARTITION OF lib.copy FOR VALUES FROM (1000) TO (2000);
INSERT INTO lib.book (id, title) SELECT g, 'Book ' || g FROM generate_series(1, 40) g;
INSERT INTO lib.copy (id, book_id, branch)
SELECT g, 1 + g % 40, 'branch ' || (g % 3) FROM generate_series(1, 1999, 7) g;
