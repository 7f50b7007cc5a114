-- The bib documents, built independently of pg2es.
SELECT b.isbn AS id,
       jsonb_build_object(
           'isbn', b.isbn,
           'title', b.title,
           'authors', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name,
                                                                    'role', c.role, 'position', c.position)
                                                 ORDER BY c.position, a.id)
                                FROM bib.credit c JOIN bib.author a ON a.id = c.author_id
                                WHERE c.book_isbn = b.isbn), '[]'::jsonb))::text AS doc
FROM bib.book b
