#!/usr/bin/env bash
# `make demo`: Postgres + Elasticsearch on loopback, generated sample films, one pg2es back-fill,
# then one English and one Russian full-text search. The stack stays up (`make down` stops it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FILMS="${FILMS:-5000}"
DB=pg2es_demo
INDEX=movies_demo
DEMO_DIR=target/demo

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

echo "== indexing with pg2es sync --once"
mkdir -p "$DEMO_DIR"
bash scripts/drop-index.sh "$ES" "$INDEX" || true
export PG2ES__POSTGRES__URL="$DB_URL" PG2ES__ELASTICSEARCH__URL="$ES" PG2ES__INDEX__NAME="$INDEX" \
    PG2ES__STATE__PATH="$DEMO_DIR/state.yaml" PG2ES__DEAD_LETTER__PATH="$DEMO_DIR/dead_letter.ndjson"
time target/release/pg2es sync --once --reset-state
curl -s -o /dev/null -X POST "$ES/$INDEX/_refresh"
target/release/pg2es status

search() {
    local words="$1"
    echo
    echo "== search: \"$words\""
    python3 - "$ES/$INDEX/_search" "$words" <<'PY'
import json, sys, urllib.request

url, words = sys.argv[1], sys.argv[2]
query = {"size": 5, "_source": ["title", "imdb_rating", "director"],
         "query": {"multi_match": {"query": words,
                                   "fields": ["title^3", "description", "actors_names", "director"]}}}
request = urllib.request.Request(url, json.dumps(query).encode(), {"content-type": "application/json"})
body = json.load(urllib.request.urlopen(request))
print(f"{body['hits']['total']['value']} films match; the best:")
for hit in body["hits"]["hits"]:
    src = hit["_source"]
    directors = ", ".join(src["director"]) or "nobody"
    print(f"  {hit['_score']:6.2f}  {src['title']}  (rating {src.get('imdb_rating')}, directed by {directors})")
PY
}
search "captain's daughter"
search "бегущие собаки"
echo
echo "Elasticsearch: $ES/$INDEX  Postgres: $DB_URL  ('make down' stops the stack)"
