-- What a hot standby needs for a logical slot of its own.
SELECT current_setting('hot_standby_feedback') = 'on' AS hot_standby_feedback,
       current_setting('primary_slot_name') AS primary_slot_name
