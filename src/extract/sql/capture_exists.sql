SELECT to_regclass('pg2es.consumers') IS NOT NULL
