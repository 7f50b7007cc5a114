SELECT position, pending::text[] FROM pg2es.consumers WHERE name = $1
