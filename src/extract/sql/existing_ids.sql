-- The keys of $1 that still have a row.
SELECT {key_text} FROM {relation} t WHERE {key_any}
