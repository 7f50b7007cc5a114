DROP TRIGGER IF EXISTS pg2es_notify ON {partition};
DROP TRIGGER IF EXISTS pg2es_truncate ON {partition};
