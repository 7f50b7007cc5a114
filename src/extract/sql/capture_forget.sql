-- Changes whose documents Elasticsearch acknowledged.
DELETE FROM pg2es.changes WHERE seq = ANY($1)
