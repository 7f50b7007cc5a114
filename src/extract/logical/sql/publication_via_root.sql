-- Whether publication $1 publishes the changes of partitions as changes of their root.
SELECT COALESCE((SELECT pubviaroot FROM pg_publication WHERE pubname = $1), false)
