#!/usr/bin/env bash
# Initialises the movies database for pg2es inside the official postgres image.
#
# Mounted as /docker-entrypoint-initdb.d/10-pg2es.sh (see docker-compose.yaml):
# the image runs it once, on the first start with an empty data volume, against
# its temporary init server (Unix socket only), as the postgres user, with
# POSTGRES_USER and POSTGRES_DB set. The initdb.d folder runs *.sql files in
# alphabetical order, which would load generate.sql before schema.sql: hence
# this script, which runs them in the right order.
#
#   PG2ES_DB_DIR   where ./db is mounted (default /pg2es/db)
#   SAMPLE_FILMS   films to generate with db/generate.sql (default 1000);
#                  0 = schema only (e.g. to load the real dataset by hand)
#
# To run it again, drop the volume: docker compose down -v && docker compose up -d
#
# The image executes this file when it is executable and sources it otherwise,
# so everything runs in a subshell: no option or variable leaks into the
# image's entrypoint.

pg2es_init() (
    set -Eeuo pipefail

    local db_dir="${PG2ES_DB_DIR:-/pg2es/db}"
    local films="${SAMPLE_FILMS:-1000}"
    local user="${POSTGRES_USER:-postgres}"
    local db="${POSTGRES_DB:-$user}"

    if [[ ! "$films" =~ ^[0-9]+$ ]]; then
        echo "pg2es init: SAMPLE_FILMS must be a non-negative integer, got '$films'" >&2
        return 1
    fi
    local file
    for file in schema.sql indexes.sql generate.sql; do
        if [[ ! -r "$db_dir/$file" ]]; then
            echo "pg2es init: $db_dir/$file not found (mount ./db at $db_dir)" >&2
            return 1
        fi
    done

    local psql=(psql -X -v ON_ERROR_STOP=1 --username "$user" --dbname "$db")

    echo "pg2es init: creating schema content in database $db"
    # schema.sql includes indexes.sql with \ir (relative to schema.sql).
    "${psql[@]}" -f "$db_dir/schema.sql"

    if (( 10#$films == 0 )); then
        echo "pg2es init: SAMPLE_FILMS=0, no sample data"
        return 0
    fi
    echo "pg2es init: generating $((10#$films)) sample films"
    "${psql[@]}" -v films="$((10#$films))" -f "$db_dir/generate.sql"
    echo "pg2es init: done"
)

pg2es_init
