-- Where the change cursor starts when a back-fill begins: the newest row now.
-- (Rows without a cursor value can never be followed; they are back-filled only.)
SELECT {cursor_column} AS changed_at, id
FROM {relation}
WHERE {cursor_column} IS NOT NULL
ORDER BY {cursor_column} DESC, id DESC
LIMIT 1
