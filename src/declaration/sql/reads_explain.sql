-- The generic plan of the document SQL prepared as pg2es_reads(text[]), with schema names.
EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE pg2es_reads(NULL)
