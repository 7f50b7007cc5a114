-- The newest row of a table by its changed_by column: where change cursors start.
SELECT {position} AS changed_at, {key_text} AS id
FROM {relation} t
WHERE t.{changed_by} IS NOT NULL
ORDER BY t.{changed_by} DESC, {key_columns_desc}
LIMIT 1
