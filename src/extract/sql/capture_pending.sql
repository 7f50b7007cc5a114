SELECT count(*) FROM pg2es.changes
