-- The publication's oid: one dropped and made again has another, and decoded nothing while
-- it was gone.
SELECT oid::int8 FROM pg_publication WHERE pubname = $1
