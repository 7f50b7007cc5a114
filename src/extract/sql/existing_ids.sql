-- The keys of $1 that still have a row.
SELECT {key}::text FROM {relation} WHERE {key} = ANY($1::text[]::{key_type}[])
