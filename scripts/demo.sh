#!/usr/bin/env bash
# `make demo`: Postgres + Elasticsearch on loopback, generated sample films, one pg2es back-fill
# of the three pipelines of config.yaml (movies, genres, persons, declared in pipelines/), then
# a search in each index. The stack stays up (`make down` stops it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FILMS="${FILMS:-5000}"
DB=pg2es_demo
DEMO_DIR=target/demo
MOVIES=movies_demo GENRES=genres_demo PERSONS=persons_demo

bash scripts/stack/up.sh postgres elasticsearch
# shellcheck source=/dev/null
source target/stack.env
ES="$PG2ES_TEST_ELASTICSEARCH_URL"
DB_URL="${PG2ES_TEST_POSTGRES_URL%/*}/$DB"

echo "== database $DB with $FILMS generated films"
psql -X -q -v ON_ERROR_STOP=1 -d "$PG2ES_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -f db/schema.sql
psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -v films="$FILMS" -f db/generate.sql

echo "== building pg2es"
cargo build --release --locked --quiet

echo "== indexing with pg2es sync --once (config.yaml: the movies, genres and persons pipelines)"
mkdir -p "$DEMO_DIR"
for index in "$MOVIES" "$GENRES" "$PERSONS"; do
    bash scripts/drop-index.sh "$ES" "$index" || true
done
export PG2ES__POSTGRES__URL="$DB_URL" PG2ES__ELASTICSEARCH__URL="$ES" \
    PG2ES__PIPELINES__MOVIES__ALIAS="$MOVIES" PG2ES__PIPELINES__GENRES__ALIAS="$GENRES" \
    PG2ES__PIPELINES__PERSONS__ALIAS="$PERSONS" \
    PG2ES__STATE__PATH="$DEMO_DIR/state.yaml" PG2ES__DEAD_LETTER__PATH="$DEMO_DIR/dead_letter.ndjson"
time target/release/pg2es sync --once --reset-state
for index in "$MOVIES" "$GENRES" "$PERSONS"; do
    curl -s -o /dev/null -X POST "$ES/$index/_refresh"
done
target/release/pg2es --pipeline movies status

search() { # INDEX "words" FIELDS... : prints the best hits
    local index="$1" words="$2"
    shift 2
    echo
    echo "== $index: \"$words\""
    python3 - "$ES/$index/_search" "$words" "$@" <<'PY'
import json, sys, urllib.request

url, words, fields = sys.argv[1], sys.argv[2], sys.argv[3:]
query = {"size": 5, "query": {"multi_match": {"query": words, "fields": fields}}}
request = urllib.request.Request(url, json.dumps(query).encode(), {"content-type": "application/json"})
body = json.load(urllib.request.urlopen(request))
print(f"{body['hits']['total']['value']} match; the best:")
for hit in body["hits"]["hits"]:
    src = hit["_source"]
    if "title" in src:
        directors = ", ".join(src["director"]) or "nobody"
        print(f"  {hit['_score']:6.2f}  {src['title']}  (rating {src.get('imdb_rating')}, directed by {directors})")
    elif "films" in src:
        roles = sorted({role for film in src["films"] for role in film["roles"]})
        print(f"  {hit['_score']:6.2f}  {src['full_name']}  ({len(src['films'])} films as {', '.join(roles) or 'nobody'})")
    else:
        print(f"  {hit['_score']:6.2f}  {src['name']}  ({src.get('description') or 'no description'})")
PY
}
search "$MOVIES" "captain's daughter" "title^3" description actors_names director
search "$MOVIES" "бегущие собаки" "title^3" description actors_names director
search "$GENRES" "drama comedy" "name^2" description
search "$PERSONS" "mary" full_name

echo
echo "== pg2es init: content.film_work drafted from the catalogue (no YAML written by hand), then check"
INIT_DIR="$DEMO_DIR/init" DRAFTED=films_drafted
rm -rf "$INIT_DIR" && mkdir -p "$INIT_DIR"
printf 'pipelines:\n  %s: {file: pipelines/%s.yaml}\n' "$DRAFTED" "$DRAFTED" >"$INIT_DIR/config.yaml"
bash scripts/drop-index.sh "$ES" "$DRAFTED" || true
(
    unset PG2ES__PIPELINES__MOVIES__ALIAS PG2ES__PIPELINES__GENRES__ALIAS PG2ES__PIPELINES__PERSONS__ALIAS
    drafted() { "${PG2ES_BIN:-target/release/pg2es}" --config "$INIT_DIR/config.yaml" "$@"; }
    drafted init --root content.film_work --name "$DRAFTED" --exclude content.person
    sed -n '/^document:/,/^$/p' "$INIT_DIR/pipelines/$DRAFTED.yaml"
    drafted sync --once --reset-state 2>&1 | tail -n 1
    drafted check | grep -E '^(✓ index|✗|[0-9]+ check)' || true
)
echo
echo "Elasticsearch: $ES/{$MOVIES,$GENRES,$PERSONS,$DRAFTED}  Postgres: $DB_URL  ('make down' stops the stack)"
