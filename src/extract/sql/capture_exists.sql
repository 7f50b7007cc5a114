SELECT to_regclass('pg2es.consumers') IS NOT NULL AND to_regclass('pg2es.captured') IS NOT NULL
