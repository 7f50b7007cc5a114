DROP TRIGGER IF EXISTS pg2es_record ON {relation};
DROP TRIGGER IF EXISTS pg2es_notify ON {relation};
DROP TRIGGER IF EXISTS pg2es_truncate ON {relation};
