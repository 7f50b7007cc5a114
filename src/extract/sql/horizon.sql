-- How far polling may safely read: the start of the oldest transaction still open in this
-- database. Rows such a transaction writes carry updated_at = now() = its start, so they may
-- still appear behind the cursor; nothing at or after this instant is passed yet. The session
-- of that transaction is returned too: it is the one holding polling back.
-- (Other roles' transactions are only visible with pg_read_all_stats; without it this is now().)
SELECT now() AS now, oldest.xact_start, oldest.pid, oldest.application_name,
       oldest.client_addr::text AS client_addr, oldest.state
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT xact_start, pid, application_name, client_addr, state
    FROM pg_stat_activity
    WHERE xact_start IS NOT NULL
      AND pid <> pg_backend_pid()
      AND backend_type = 'client backend'
      AND datname = current_database()
    ORDER BY xact_start
    LIMIT 1
) AS oldest ON true
