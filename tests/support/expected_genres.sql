-- Every genre document, built independently of pg2es.
SELECT g.id::text AS id,
       json_build_object('id', g.id, 'name', g.name, 'description', g.description)::text AS document
FROM content.genre g
