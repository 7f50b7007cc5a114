-- What tests/init_schemas.rs compares of each trip drafted with `--depth 2`, built by hand:
-- the title, the country's name (null without one), each leg's id and its port's name (the
-- second hop, null without a port), and each guide linked through atlas.trip_guide (a link
-- keyed by (trip_id, guide_id)): its id, its name and the link's role, by id.
SELECT t.id,
       jsonb_build_object(
           'title', t.title,
           'country', (SELECT c.name FROM atlas.country c WHERE c.code = t.country_code),
           'leg', COALESCE((SELECT jsonb_agg(jsonb_build_array(l.id, p.name) ORDER BY l.id)
                            FROM atlas.leg l LEFT JOIN atlas.port p ON p.id = l.port_id
                            WHERE l.trip_id = t.id), '[]'),
           'guide', COALESCE((SELECT jsonb_agg(jsonb_build_array(g.id, g.name, tg.role) ORDER BY g.id)
                              FROM atlas.trip_guide tg JOIN atlas.guide g ON g.id = tg.guide_id
                              WHERE tg.trip_id = t.id), '[]'))::text
FROM atlas.trip t
