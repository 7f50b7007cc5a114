-- The newest row of a table by its changed_by column: where change cursors start.
SELECT {position} AS changed_at, {key}::text AS id
FROM {relation}
WHERE {changed_by} IS NOT NULL
ORDER BY {changed_by} DESC, {key} DESC
LIMIT 1
