-- One row per case of the README's table "What a document holds" (tests/types.rs).
CREATE SCHEMA t;
CREATE TYPE t.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE t.value_row (
    id text PRIMARY KEY,
    price numeric(20, 2),
    amount numeric,
    ratio double precision,
    score double precision,
    weight real,
    cash money,
    small smallint,
    big bigint,
    flag boolean,
    at timestamptz,
    local_at timestamp,
    day date,
    span interval,
    amounts numeric[],
    ratios double precision[],
    tags text[],
    moments timestamptz[],
    extra jsonb,
    mood t.mood,
    uid uuid,
    address inet,
    blob bytea,
    doubled numeric GENERATED ALWAYS AS (price * 2) STORED,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO t.value_row (id, price, amount, ratio, score, weight, cash, small, big, flag, at,
    local_at, day, span, amounts, ratios, tags, moments, extra, mood, uid, address, blob) VALUES
('digits', 123456789012345678.25, 0.100000000000000000001, 0.1, 1e300, 7.3, 1234567.89, -32768,
    9223372036854775807, true, '2021-06-16 23:14:09.31+03', '2021-06-16 20:14:09.000001',
    '2021-06-16', '1 year 2 months 3 days 04:05:06.5', '{1.10,-0.000000000000000000001,NaN}',
    '{0.5,NaN,-Infinity}', '{"a b",NULL,"é"}', '{"2021-06-16 23:14:09+03"}',
    '{"n": 12345678901234567890123, "f": 1.5e-7, "s": "x"}', 'happy',
    '00000000-0000-0000-0000-000000000001', '10.0.0.1', '\x00ff10'),
('not numbers', 'NaN', 'NaN', 'NaN', 'Infinity', '-Infinity', NULL, NULL, NULL, false,
    'infinity', '-infinity', '0044-03-15 BC', '-1 day', '{}', '{}', '{}', '{}', '[]', 'sad',
    NULL, '::1', ''),
('a/b?c%d#e é', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'infinity',
    NULL, NULL, NULL, NULL, NULL, 'null', NULL, NULL, NULL, NULL);
