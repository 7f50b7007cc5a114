-- How far polling may safely read: the start of the oldest transaction still open in this
-- database. Rows such a transaction writes carry updated_at = now() = its start, so they may
-- still appear behind the cursor; nothing at or after this instant is passed yet.
-- (Other roles' transactions are only visible with pg_read_all_stats; without it this is now().)
SELECT coalesce(min(xact_start), now())
FROM pg_stat_activity
WHERE xact_start IS NOT NULL
  AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
  AND datname = current_database()
