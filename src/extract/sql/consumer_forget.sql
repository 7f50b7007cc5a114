DELETE FROM pg2es.consumers WHERE name = $1
