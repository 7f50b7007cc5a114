-- Where the change cursor starts when a back-fill begins: the newest row now.
SELECT {cursor_column} AS changed_at, id
FROM {relation}
ORDER BY {cursor_column} DESC, id DESC
LIMIT 1
