#!/usr/bin/env bash
# Deletes what pg2es wrote under a name: the indexes behind the alias of that name (or an index of
# that name) and the versioned indexes pg2es built for it (NAME_*). Each index is deleted by its
# own name, which servers refusing wildcard deletes accept too.
# Usage: scripts/drop-index.sh ES_URL NAME
set -euo pipefail
es="$1"
name="$2"
indexes=$(curl -sf "$es/$name,${name}_*/_alias?ignore_unavailable=true" |
    python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)))')
for index in $indexes; do
    curl -s -o /dev/null -X DELETE "$es/$index"
done
