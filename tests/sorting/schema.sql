-- Lists that only sort right when the database sorts them: names in an ICU collation, an
-- enum whose order is not the alphabet's, numbers whose text sorts otherwise.
CREATE SCHEMA shelf;
CREATE TYPE shelf.wear AS ENUM ('new', 'worn', 'antique');

CREATE TABLE shelf.book (
    id text PRIMARY KEY,
    title text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shelf.author (
    id integer PRIMARY KEY,
    name text COLLATE "en-US-x-icu",
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shelf.credit (
    id integer PRIMARY KEY,
    book_id text NOT NULL REFERENCES shelf.book,
    author_id integer NOT NULL REFERENCES shelf.author,
    role text COLLATE "en-US-x-icu" NOT NULL,
    position integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shelf.copy (
    id integer PRIMARY KEY,
    book_id text NOT NULL REFERENCES shelf.book,
    wear shelf.wear,
    price numeric,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO shelf.book (id, title) VALUES ('b1', 'Anthology');
INSERT INTO shelf.author (id, name) VALUES
    (1, 'Dumas'), (2, 'Zola'), (3, 'de la Cruz'), (4, 'Émile'), (5, 'émile'), (6, NULL);
INSERT INTO shelf.credit (id, book_id, author_id, role, position) VALUES
    (1, 'b1', 1, 'writer', 1), (2, 'b1', 2, 'writer', 2), (3, 'b1', 3, 'Editor', 1),
    (4, 'b1', 4, 'writer', 3), (5, 'b1', 5, 'writer', 4), (6, 'b1', 6, 'writer', 5),
    (7, 'b1', 3, 'éditeur', 2), (8, 'b1', 3, 'author', 3);
INSERT INTO shelf.copy (id, book_id, wear, price) VALUES
    (1, 'b1', 'antique', 9.5), (2, 'b1', 'new', 10), (3, 'b1', 'worn', 100.25),
    (4, 'b1', 'new', 9.75), (5, 'b1', NULL, 1);
