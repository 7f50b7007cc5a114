-- A mark in the log: every transaction committed before it is streamed before it.
SELECT pg_logical_emit_message(false, 'pg2es', $1)::text
