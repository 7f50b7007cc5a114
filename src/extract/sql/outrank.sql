-- A transaction of pg2es's own that takes a transaction id and commits, writing nothing else:
-- every snapshot taken after it has a larger xmax than any taken before. NULL on a standby,
-- which cannot take one.
SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_xact_id()::text END
