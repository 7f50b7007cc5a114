-- What tests/init_schemas.rs compares of each trip drafted with `--depth 2`, built by hand:
-- the title, the country's name (null without one), each leg's id and its port's name (the
-- second hop, null without a port).
SELECT t.id,
       jsonb_build_object(
           'title', t.title,
           'country', (SELECT c.name FROM atlas.country c WHERE c.code = t.country_code),
           'leg', COALESCE((SELECT jsonb_agg(jsonb_build_array(l.id, p.name) ORDER BY l.id)
                            FROM atlas.leg l LEFT JOIN atlas.port p ON p.id = l.port_id
                            WHERE l.trip_id = t.id), '[]'))::text
FROM atlas.trip t
