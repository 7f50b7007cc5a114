-- The distinct values of one recorded column ({column}) in the rows of one partition
-- ({partition}): a partition attached or detached moves rows in or out without a row change.
SELECT DISTINCT {column}::text FROM ONLY {partition} WHERE {column} IS NOT NULL
