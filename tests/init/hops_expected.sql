-- What tests/init.rs compares of each item drafted with `--depth 2`, built by hand: each tag's
-- id and its group's label (the second hop, null without a group).
SELECT i.id,
       jsonb_build_object(
           'tag', COALESCE((SELECT jsonb_agg(jsonb_build_array(t.id, g.label) ORDER BY t.id)
                            FROM hop.item_tag it JOIN hop.tag t ON t.id = it.tag_id
                            LEFT JOIN hop.tag_group g ON g.id = t.group_id
                            WHERE it.item_id = i.id), '[]'))::text
FROM hop.item i
