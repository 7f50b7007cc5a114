-- Whether the role sees the transactions of every role in pg_stat_activity (superuser,
-- pg_read_all_stats, or pg_monitor, which includes it), and its name.
SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), current_user::text
