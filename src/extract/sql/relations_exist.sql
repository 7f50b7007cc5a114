-- Which of the relation oids $1 still exist (a detached partition does; a dropped one not).
SELECT oid::bigint FROM pg_class WHERE oid = ANY ($1::oid[])
