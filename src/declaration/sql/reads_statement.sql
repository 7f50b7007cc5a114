-- The document SQL follows, as a prepared statement whose $1 is the root keys as text[], as
-- the worker binds them. Sent alone through the extended protocol, which refuses a second
-- statement in it.
PREPARE pg2es_reads(text[]) AS
