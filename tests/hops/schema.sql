-- Items with their stock in stores (one-to-many, each stock row's store a second hop) and
-- their tags (through a link table, each tag's group a second hop).
CREATE SCHEMA hop;
CREATE TABLE hop.store (
    id integer PRIMARY KEY,
    name text NOT NULL,
    city text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE hop.item (
    id text PRIMARY KEY,
    title text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE hop.stock (
    id integer PRIMARY KEY,
    item_id text NOT NULL REFERENCES hop.item,
    store_id integer REFERENCES hop.store ON DELETE SET NULL,
    quantity integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE hop.tag_group (
    id integer PRIMARY KEY,
    label text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE hop.tag (
    id integer PRIMARY KEY,
    name text NOT NULL,
    group_id integer REFERENCES hop.tag_group,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE hop.item_tag (
    id integer PRIMARY KEY,
    item_id text NOT NULL REFERENCES hop.item,
    tag_id integer NOT NULL REFERENCES hop.tag,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON hop.stock (item_id);
CREATE INDEX ON hop.stock (store_id);
CREATE INDEX ON hop.item_tag (item_id);
CREATE INDEX ON hop.item_tag (tag_id);
CREATE INDEX ON hop.tag (group_id);

INSERT INTO hop.store (id, name, city) SELECT g, 'store ' || g, CASE WHEN g % 2 = 0 THEN 'Lyon' END
FROM generate_series(1, 5) g;
INSERT INTO hop.item (id, title) SELECT 'item ' || g, 'Item ' || g FROM generate_series(1, 30) g;
INSERT INTO hop.stock (id, item_id, store_id, quantity)
SELECT g, 'item ' || (1 + g % 30), CASE WHEN g % 11 = 0 THEN NULL ELSE 1 + g % 5 END, g
FROM generate_series(1, 90) g;
INSERT INTO hop.tag_group (id, label) VALUES (1, 'colour'), (2, 'size');
INSERT INTO hop.tag (id, name, group_id)
SELECT g, 'tag ' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE 1 + g % 2 END FROM generate_series(1, 8) g;
INSERT INTO hop.item_tag (id, item_id, tag_id)
SELECT g, 'item ' || (1 + g % 30), 1 + g % 8 FROM generate_series(1, 60) g;
