-- The columns of one table ($1, schema-qualified), with their types; no row when it is absent.
SELECT a.attname::text AS name, t.typname::text AS type_name, t.typtype::text AS type_kind,
       format_type(a.atttypid, a.atttypmod) AS sql_type, a.attnotnull AS not_null
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass($1)
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum
