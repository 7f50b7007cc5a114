-- The relations ($1) on which the current role lacks a privilege ($2, e.g. 'SELECT'); relations
-- that do not exist are left to the other checks.
SELECT relation
FROM unnest($1::text[], $2::text[]) AS wanted(relation, privilege)
WHERE to_regclass(relation) IS NOT NULL
  AND NOT has_table_privilege(to_regclass(relation), privilege)
