-- The tables a plan reads ($1 schemas and $2 names, side by side), a partition as the root of
-- its tree, each with the declared relation ($3) that names the same table, if one does.
WITH read AS (
  SELECT DISTINCT coalesce(pg_partition_root(c.oid), c.oid) AS oid
  FROM unnest($1::text[], $2::text[]) AS r(schema_name, relation_name)
  JOIN pg_namespace n ON n.nspname = r.schema_name
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.relation_name
)
SELECT n.nspname || '.' || c.relname AS relation,
       (SELECT d.relation FROM unnest($3::text[]) AS d(relation)
        WHERE to_regclass(d.relation) = read.oid
        LIMIT 1) AS declared
FROM read
JOIN pg_class c ON c.oid = read.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1
