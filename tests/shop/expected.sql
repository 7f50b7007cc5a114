-- Every order document, built independently of pg2es.
SELECT o.id::text AS id,
       json_build_object(
           'id', o.id,
           'status', coalesce(o.status, 'unknown'),
           'placed_at', to_char(o.placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'customer', (SELECT json_build_object('id', c.id, 'name', c.name)
                        FROM shop.customer c WHERE c.id = o.customer_id),
           'lines', coalesce((SELECT json_agg(json_build_object('id', l.id, 'product_id', l.product_id,
                                                                'quantity', l.quantity) ORDER BY l.id)
                              FROM shop.order_line l WHERE l.order_id = o.id), '[]'::json),
           'products', coalesce((SELECT json_agg(json_build_object('id', p.id, 'title', p.title,
                                                                   'price', p.price::float8) ORDER BY p.id, l.id)
                                 FROM shop.order_line l JOIN shop.product p ON p.id = l.product_id
                                 WHERE l.order_id = o.id), '[]'::json),
           'product_titles', coalesce((SELECT json_agg(p.title ORDER BY p.id, l.id)
                                       FROM shop.order_line l JOIN shop.product p ON p.id = l.product_id
                                       WHERE l.order_id = o.id), '[]'::json)
       )::text AS document
FROM shop.orders o
