-- The server's version: its number (130023 for 13.23, 180004 for 18.4) and its name.
SELECT current_setting('server_version_num')::int4 AS number,
       current_setting('server_version') AS name
