-- The line documents, built independently of pg2es. The _id is the key's parts, each with `%`
-- written `%25` and `/` written `%2F`, joined by `/` (README, "Composite keys").
SELECT replace(replace(l.operator, '%', '%25'), '/', '%2F') || '/'
           || replace(replace(l.code, '%', '%25'), '/', '%2F') AS id,
       jsonb_build_object(
           'operator', l.operator,
           'code', l.code,
           'name', l.name,
           'fare', l.fare,
           'depot', (SELECT jsonb_build_object('region', d.region, 'num', d.num, 'name', d.name)
                     FROM route.depot d WHERE d.region = l.depot_region AND d.num = l.depot_num),
           'calls', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                  'seq', c.seq, 'minutes', c.minutes,
                                  'notices', COALESCE((SELECT jsonb_agg(jsonb_build_object('num', o.num, 'body', o.body) ORDER BY o.num DESC)
                                                       FROM route.notice o
                                                       WHERE o.line_operator = c.line_operator AND o.line_code = c.line_code
                                                         AND o.call_seq = c.seq), '[]'::jsonb),
                                  'station', jsonb_build_object('name', s.name, 'zone', s.zone))
                                  ORDER BY c.seq)
                              FROM route.call c
                              JOIN route.station s ON s.city = c.station_city AND s.name = c.station_name
                              WHERE c.line_operator = l.operator AND c.line_code = l.code), '[]'::jsonb),
           'drivers', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name,
                                                                    'since', to_char(sh.since, 'YYYY-MM-DD'),
                                                                    'licences', COALESCE((
                                                                        SELECT jsonb_agg(jsonb_build_object('class', lc.class, 'until', to_char(lc.until, 'YYYY-MM-DD')) ORDER BY lc.class)
                                                                        FROM route.licence lc WHERE lc.driver_id = r.id), '[]'::jsonb))
                                                 ORDER BY r.id)
                                FROM route.shift sh JOIN route.driver r ON r.id = sh.driver_id
                                WHERE sh.line_operator = l.operator AND sh.line_code = l.code), '[]'::jsonb)
       )::text AS doc
FROM route.line l
