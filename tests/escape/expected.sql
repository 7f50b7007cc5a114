-- Every genre_counts document, built independently of pg2es.
SELECT g.id::text AS id,
       json_build_object('id', g.id, 'name', g.name,
                         'films', (SELECT count(*) FROM content.genre_film_work x WHERE x.genre_id = g.id),
                         'best_rating', (SELECT max(f.rating) FROM content.genre_film_work x
                                         JOIN content.film_work f ON f.id = x.film_work_id
                                         WHERE x.genre_id = g.id))::text AS document
FROM content.genre g
