-- A mark in the log: every transaction committed before it is streamed before it. Written in
-- a transaction of its own (so the mark is streamed with its commit), committed with
-- synchronous_commit = on: the log is flushed up to it, and the server streams it at once.
SELECT pg_logical_emit_message(true, 'pg2es', $1)::text
