UPDATE pg2es.consumers SET position = $2, pending = $3::text[]::xid8[], seen_at = now()
WHERE name = $1
