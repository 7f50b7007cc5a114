-- Whether the row a change cursor last stood on is now older than the cursor: the database
-- went back in time (a backup restored), or the row's changed_by column was set back.
-- No row (deleted since): NULL, which says nothing. The whole key is compared: with a
-- composite key, rows sharing a part (siblings) are other rows.
SELECT t.{changed_by} < {after}
FROM {relation} t
WHERE ({key_columns}) = ({key_after})
