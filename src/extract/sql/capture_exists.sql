SELECT to_regclass('pg2es.changes') IS NOT NULL
