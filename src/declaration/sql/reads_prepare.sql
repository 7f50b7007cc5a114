-- How the document SQL is planned for its generic plan (see reads.rs): a plan for any `$1`,
-- with every partition kept. LOCAL to the transaction, which is rolled back.
SET LOCAL plan_cache_mode = force_generic_plan;
SET LOCAL enable_partition_pruning = off;
SET LOCAL constraint_exclusion = off;
