#!/usr/bin/env bash
# PGSync leg of the benchmark: back-fills the movies data of DB_URL into INDEX on SEARCH_URL with
# pgsync (https://github.com/toluaina/pgsync) and times the one-shot initial sync only.
#
#   scripts/bench/pgsync.sh DB_URL SEARCH_URL INDEX
#   e.g. scripts/bench/pgsync.sh postgres://postgres@127.0.0.1:55432/bench_100k http://127.0.0.1:9201 pgsync_movies
#
# Last line on success: pgsync_seconds=<float> documents=<count in INDEX after refresh>.
# Everything else goes to stderr; pgsync's own output to target/bench/pgsync/*.log.
#
# Idempotent. It creates target/bench/pgsync-venv with a pinned pgsync (pgsync pins every one of
# its dependencies exactly, the Elasticsearch client included), installs redis-server with apt-get
# if it is missing, starts a private Redis on 127.0.0.1:$PGSYNC_REDIS_PORT (default 56379, data in
# target/bench/redis), DELETES INDEX if it exists, renders bench/pgsync/schema.json.in, runs
# `bootstrap` (triggers, function, materialized view `content._view`, replication slot), times
# `pgsync --config` (no --daemon: the initial full sync, then exit), counts the documents, then
# always (trap) runs `bootstrap --teardown` and stops its Redis. INDEX is left in place to inspect.
#
# The server kind is read from SEARCH_URL's root: OpenSearch runs pgsync with OPENSEARCH=true.
# Environment knobs (defaults are the working, documented combination, see bench/pgsync/NOTES.md):
#   PGSYNC_VERSION       pgsync version to install (default below)
#   PGSYNC_PIP_EXTRA     extra pinned requirements installed after pgsync (e.g. elasticsearch==7.13.4)
#   PGSYNC_REDIS_PORT    56379
# Everything else is pgsync's default except ELASTICSEARCH_TIMEOUT=60 (pgsync: 10 s, too short on a
# loaded machine; 60 s is pg2es's own default). Any pgsync setting (ELASTICSEARCH_TIMEOUT,
# ELASTICSEARCH_CHUNK_SIZE, QUERY_CHUNK_SIZE, ...) set in the environment is passed through.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 DB_URL SEARCH_URL INDEX" >&2
    exit 2
fi
DB_URL="$1"
SEARCH_URL="${2%/}"
INDEX="$3"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PGSYNC_VERSION="${PGSYNC_VERSION:-3.0.0}"
PGSYNC_PIP_EXTRA="${PGSYNC_PIP_EXTRA:-}"
REDIS_PORT="${PGSYNC_REDIS_PORT:-56379}"
VENV="$ROOT/target/bench/pgsync-venv"
WORK="$ROOT/target/bench/pgsync"
REDIS_DIR="$ROOT/target/bench/redis"
BENCH="$ROOT/bench/pgsync"

die() {
    echo "pgsync.sh: $*" >&2
    exit 1
}
log() { echo "pgsync.sh: $*" >&2; }

mkdir -p "$WORK" "$REDIS_DIR"

# --- pgsync in its own venv --------------------------------------------------------------------
want="pgsync==$PGSYNC_VERSION${PGSYNC_PIP_EXTRA:+ $PGSYNC_PIP_EXTRA}"
if [[ ! -x "$VENV/bin/pgsync" || "$(cat "$VENV/.pinned" 2>/dev/null)" != "$want" ]]; then
    log "installing $want into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed"
    "$VENV/bin/pip" install -q --disable-pip-version-check "pgsync==$PGSYNC_VERSION" >&2 ||
        die "pip install pgsync==$PGSYNC_VERSION failed"
    if [[ -n "$PGSYNC_PIP_EXTRA" ]]; then
        # shellcheck disable=SC2086
        "$VENV/bin/pip" install -q --disable-pip-version-check $PGSYNC_PIP_EXTRA >&2 ||
            die "pip install $PGSYNC_PIP_EXTRA failed"
    fi
    echo "$want" >"$VENV/.pinned"
fi
PY="$VENV/bin/python"

# --- Redis -------------------------------------------------------------------------------------
if ! command -v redis-server >/dev/null; then
    log "installing redis-server with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >&2 ||
        die "apt-get install redis-server failed"
fi

REDIS_STARTED=0
BOOTSTRAPPED=0
SLOT=""
CHILD=""
# Runs a command with its output in a log file, in the background so that INT/TERM reach the
# traps at once (bash runs a trap only after a foreground child exits); returns its status.
run_logged() {
    local out="$1"
    shift
    "$@" >"$out" 2>&1 &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}
cleanup() {
    local rc=$?
    set +e
    if [[ -n "$CHILD" ]]; then
        kill "$CHILD" 2>/dev/null
        wait "$CHILD" 2>/dev/null
    fi
    if [[ $BOOTSTRAPPED == 1 ]]; then
        if ! (cd "$WORK" && "$VENV/bin/bootstrap" --teardown --config "$WORK/schema.json") >"$WORK/teardown.log" 2>&1; then
            # pgsync could not tear down (it needs the search server too): drop what it creates by hand.
            echo "pgsync.sh: bootstrap --teardown failed (see $WORK/teardown.log); dropping pgsync's objects with psql" >&2
            psql -X -q -v ON_ERROR_STOP=1 -d "$DB_URL" -v slot="$SLOT" >/dev/null <<'SQL' ||
DROP FUNCTION IF EXISTS content.table_notify() CASCADE;
DROP MATERIALIZED VIEW IF EXISTS content._view;
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
WHERE slot_name = :'slot' AND database = current_database();
SQL
                echo "pgsync.sh: manual cleanup failed too: check triggers, content._view and slot $SLOT" >&2
        fi
    fi
    if [[ $REDIS_STARTED == 1 ]]; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

# A Redis left behind by a killed run of this script (same pid file): stop it first.
if [[ -s "$REDIS_DIR/redis.pid" ]] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    sleep 0.5
fi
if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    die "port $REDIS_PORT is taken by another Redis; set PGSYNC_REDIS_PORT"
fi
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save "" --appendonly no ||
    die "redis-server did not start (see $REDIS_DIR/redis.log)"
REDIS_STARTED=1
for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "redis on port $REDIS_PORT does not answer"

# --- environment pgsync reads (pgsync/settings.py) ---------------------------------------------
eval "$(python3 - "$DB_URL" "$INDEX" <<'EOF'
import re, shlex, sys
from urllib.parse import urlparse, unquote
u = urlparse(sys.argv[1])
if u.scheme not in ("postgres", "postgresql") or not u.path.strip("/"):
    sys.exit("DB_URL must look like postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
for k, v in {
    "PG_HOST": u.hostname or "localhost",
    "PG_PORT": str(u.port or 5432),
    "PG_USER": unquote(u.username or "postgres"),
    "PG_PASSWORD": unquote(u.password or ""),
    "PGSYNC_DATABASE": unquote(u.path.strip("/")),
}.items():
    print(f"export {k}={shlex.quote(v)}")
# pgsync's replication slot name (Sync.__name): f"{database.lower()}_{index}", [0-9a-zA-Z_] only.
slot = re.sub("[^0-9a-zA-Z_]+", "", unquote(u.path.strip("/")).lower() + "_" + sys.argv[2])
print(f"SLOT={shlex.quote(slot)}")
EOF
)" || die "cannot parse DB_URL"
[[ -n "$PG_PASSWORD" ]] || unset PG_PASSWORD

root_json="$(curl -fsS "$SEARCH_URL/")" || die "search server $SEARCH_URL does not answer"
if grep -q '"distribution" *: *"opensearch"' <<<"$root_json"; then
    export OPENSEARCH=true ELASTICSEARCH=false
else
    export ELASTICSEARCH=true OPENSEARCH=false
fi
eval "$(python3 - "$SEARCH_URL" <<'EOF'
import shlex, sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
print(f"export ELASTICSEARCH_URL={shlex.quote(sys.argv[1])}")
print(f"export ELASTICSEARCH_SCHEME={shlex.quote(u.scheme)}")
print(f"export ELASTICSEARCH_HOST={shlex.quote(u.hostname)}")
print(f"export ELASTICSEARCH_PORT={u.port or (443 if u.scheme == 'https' else 9200)}")
EOF
)"
export REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT"
# The one changed default: pgsync's 10 s request timeout made bulk requests fail on a loaded
# machine (ConnectionTimeout, see NOTES.md); 60 s is pg2es's own default (elasticsearch.timeout 1m).
export ELASTICSEARCH_TIMEOUT="${ELASTICSEARCH_TIMEOUT:-60}"
# The checkpoint file goes here (pgsync's default is the working directory).
export CHECKPOINT_PATH="$WORK/"
# pgsync imports plugins from a package named `plugins` on sys.path.
export PYTHONPATH="$BENCH${PYTHONPATH:+:$PYTHONPATH}"

# --- schema ------------------------------------------------------------------------------------
"$PY" - "$BENCH/schema.json.in" "$ROOT/index_config.json" "$WORK/schema.json" "$PGSYNC_DATABASE" "$INDEX" <<'EOF' || die "cannot render the schema"
import json, sys
template, index_config, out, database, index = sys.argv[1:]
config = json.load(open(index_config))
mapping = dict(config["mappings"]["properties"])
# pgsync adds a `_meta` object (the keys it syncs on) to every document; index_config.json's
# "dynamic": "strict" would reject it, so pgsync's index keeps the default dynamic mapping.
docs = json.load(open(template))
for doc in docs:
    doc["database"] = database
    doc["index"] = index
    doc["setting"] = config["settings"]
    doc["mapping"] = mapping
json.dump(docs, open(out, "w"), indent=2, ensure_ascii=False)
EOF

# --- run ---------------------------------------------------------------------------------------
curl -sS -o /dev/null -X DELETE "$SEARCH_URL/$INDEX" || die "cannot delete index $INDEX"

films="$(psql -X -At -v ON_ERROR_STOP=1 -d "$DB_URL" -c 'SELECT count(*) FROM content.film_work')" ||
    die "cannot count content.film_work in $DB_URL"

cd "$WORK"
log "pgsync $PGSYNC_VERSION ($("$PY" -c 'import importlib.metadata as m; print("elasticsearch-py", m.version("elasticsearch"), "opensearch-py", m.version("opensearch-py"))' 2>/dev/null)), $([[ $OPENSEARCH == true ]] && echo OpenSearch || echo Elasticsearch) at $SEARCH_URL, database $PGSYNC_DATABASE ($films films), index $INDEX"
BOOTSTRAPPED=1
run_logged "$WORK/bootstrap.log" "$VENV/bin/bootstrap" --config "$WORK/schema.json" || {
    tail -n 30 "$WORK/bootstrap.log" >&2
    die "bootstrap failed (full log: $WORK/bootstrap.log)"
}

t0="$(date +%s.%N)"
run_logged "$WORK/sync.log" "$VENV/bin/pgsync" --config "$WORK/schema.json" || {
    tail -n 30 "$WORK/sync.log" >&2
    die "pgsync failed (full log: $WORK/sync.log)"
}
t1="$(date +%s.%N)"

curl -fsS -o /dev/null -X POST "$SEARCH_URL/$INDEX/_refresh" || die "refresh of $INDEX failed"
count_json="$(curl -fsS "$SEARCH_URL/$INDEX/_count")" || die "count of $INDEX failed"
documents="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])' <<<"$count_json")"
if [[ "$documents" != "$films" ]]; then
    die "index $INDEX has $documents documents, content.film_work has $films rows (see $WORK/sync.log)"
fi
seconds="$(python3 -c "print(f'{$t1 - $t0:.3f}')")"
echo "pgsync_seconds=$seconds documents=$documents"
