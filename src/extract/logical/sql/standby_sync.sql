-- Who keeps the failover slots (Postgres 17+): the physical slots of the standbys the
-- primary waits for before a logical change leaves it (synchronized_standby_slots), those of
-- them a walsender reads now, and whether commits wait for a synchronous standby.
WITH named AS (
    SELECT btrim(name) AS name
    FROM unnest(string_to_array(current_setting('synchronized_standby_slots'), ',')) AS name
    WHERE btrim(name) <> ''
)
SELECT COALESCE(array_agg(n.name ORDER BY n.name), '{}')::text[] AS standby_slots,
       COALESCE(array_agg(n.name ORDER BY n.name) FILTER (WHERE s.active), '{}')::text[] AS active,
       current_setting('synchronous_standby_names') <> '' AS synchronous
FROM named n
LEFT JOIN pg_replication_slots s ON s.slot_name = n.name AND s.slot_type = 'physical'
