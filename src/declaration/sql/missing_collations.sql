-- The names in $1 (text[]) that are no collation this database can use.
SELECT wanted
FROM unnest($1::text[]) AS wanted
WHERE NOT EXISTS (
    SELECT 1 FROM pg_collation c
    WHERE c.collname = wanted
      AND c.collencoding IN (-1, (SELECT encoding FROM pg_database WHERE datname = current_database()))
)
