-- The line documents `pg2es init --root route.line --depth 2` drafts, built by hand without
-- pg2es, `updated_at` columns left out (tests/init_composite.rs drops them from the index's).
-- The _id is the key's parts, each with `%` written `%25` and `/` written `%2F`, joined by `/`
-- (README, "Composite keys"). Every column is a field; the depot a `one:` object; the calls a
-- list by key, each with its station (the second hop); the drivers a through list of shifts,
-- by id, with the shift's own column as link_since.
SELECT replace(replace(l.operator, '%', '%25'), '/', '%2F') || '/'
           || replace(replace(l.code, '%', '%25'), '/', '%2F') AS id,
       jsonb_build_object(
           'operator', l.operator,
           'code', l.code,
           'name', l.name,
           'fare', l.fare,
           'depot_region', l.depot_region,
           'depot_num', l.depot_num,
           'depot', (SELECT jsonb_build_object('region', d.region, 'num', d.num, 'name', d.name)
                     FROM route.depot d WHERE d.region = l.depot_region AND d.num = l.depot_num),
           'call', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                 'line_operator', c.line_operator, 'line_code', c.line_code,
                                 'seq', c.seq, 'station_city', c.station_city,
                                 'station_name', c.station_name, 'minutes', c.minutes,
                                 'station', jsonb_build_object('city', s.city, 'name', s.name,
                                                               'zone', s.zone))
                                 ORDER BY c.line_operator, c.line_code, c.seq)
                             FROM route.call c
                             LEFT JOIN route.station s
                               ON s.city = c.station_city AND s.name = c.station_name
                             WHERE c.line_operator = l.operator AND c.line_code = l.code), '[]'),
           'driver', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                   'id', r.id, 'name', r.name,
                                   'link_since', to_char(sh.since, 'YYYY-MM-DD'))
                                   ORDER BY r.id)
                               FROM route.shift sh JOIN route.driver r ON r.id = sh.driver_id
                               WHERE sh.line_operator = l.operator AND sh.line_code = l.code), '[]')
       )::text AS doc
FROM route.line l
