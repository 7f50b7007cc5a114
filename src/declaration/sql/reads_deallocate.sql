-- A prepared statement outlives a rolled-back transaction: drop it before the rollback.
DEALLOCATE pg2es_reads
