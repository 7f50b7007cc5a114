-- A logical slot decoding with pgoutput; its position is the server's newest.
SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')
