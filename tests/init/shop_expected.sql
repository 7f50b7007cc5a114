-- Every document of the declaration `pg2es init --root shop.orders` drafts, built by hand:
-- every column of the order, its customer as an object (every column), and the products of
-- its lines as a through list (every column, the line's quantity and updated_at as link_*).
-- A timestamp without time zone keeps its wall-clock value, without a zone.
SELECT o.id::text AS id,
       json_build_object(
           'id', o.id,
           'customer_id', o.customer_id,
           'status', o.status,
           'placed_at', to_char(o.placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'updated_at', to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'customer', (SELECT json_build_object(
                                   'id', c.id, 'name', c.name,
                                   'modified', to_char(c.modified, 'YYYY-MM-DD"T"HH24:MI:SS.US'))
                        FROM shop.customer c WHERE c.id = o.customer_id),
           'product', coalesce((SELECT json_agg(json_build_object(
                                           'id', p.id, 'title', p.title, 'price', p.price::float8,
                                           'version', p.version, 'link_id', l.id, 'link_quantity', l.quantity,
                                           'link_updated_at', to_char(l.updated_at AT TIME ZONE 'UTC',
                                                                      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                                       ORDER BY p.id, l.id)
                                FROM shop.order_line l JOIN shop.product p ON p.id = l.product_id
                                WHERE l.order_id = o.id), '[]'::json)
       )::text AS document
FROM shop.orders o
