-- A bibliography: books (text isbn key, some with `/` and `%`, the characters a composite
-- key's text encodes), authors (int key), and the credits linking them, whose key is the pair
-- (book_isbn, author_id): no id column.
CREATE SCHEMA bib;
CREATE TABLE bib.book (
    isbn text PRIMARY KEY,
    title text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bib.author (
    id integer PRIMARY KEY,
    name text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bib.credit (
    book_isbn text NOT NULL REFERENCES bib.book (isbn),
    author_id integer NOT NULL REFERENCES bib.author (id),
    role text NOT NULL,
    position integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (book_isbn, author_id)
);
CREATE INDEX ON bib.credit (updated_at, book_isbn, author_id);
INSERT INTO bib.book (isbn, title)
SELECT CASE g % 3 WHEN 0 THEN '978-' || g WHEN 1 THEN '978/' || g ELSE '978%2F' || g END,
       'Book ' || g
FROM generate_series(1, 12) g;
INSERT INTO bib.author (id, name) SELECT g, 'Author ' || g FROM generate_series(1, 8) g;
-- Every book has three authors, all written in one statement (one updated_at): rows that share
-- a position and a book are told apart by the author alone.
INSERT INTO bib.credit (book_isbn, author_id, role, position)
SELECT b.isbn, 1 + (row_number() OVER (ORDER BY b.isbn) + k) % 8, 'writer', k
FROM bib.book b, generate_series(1, 3) k;
