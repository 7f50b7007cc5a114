-- How the document SQL is planned for its generic plan (see reads.rs): a plan for any `$1`,
-- with every partition kept. The connection is closed afterwards, so nothing here outlives it.
SET plan_cache_mode = force_generic_plan;
SET enable_partition_pruning = off;
SET constraint_exclusion = off;
