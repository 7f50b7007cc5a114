-- The distinct values of one recorded column ({value}: a column, or the text of a composite
-- key's or ref's columns) in the rows of one partition ({partition}): a partition attached or
-- detached moves rows in or out without a row change.
SELECT DISTINCT {value} FROM ONLY {partition} p WHERE {present}
