#!/usr/bin/env bash
# Dependency audit with cargo-deny, offline: advisories (RustSec snapshot in
# shared/), bans, licences and sources, as configured in deny.toml.
#
#   bash scripts/deny.sh            # all four checks
#   bash scripts/deny.sh licenses   # some of them (advisories bans licenses sources)
#
# Installs the pinned cargo-deny with `cargo install --locked` when it is
# missing or another version (a build from source: about 4 minutes on 2 cores;
# no prebuilt binary can be fetched here). Exits non-zero when a check fails.
#
#   PG2ES_ADVISORY_DB   the RustSec database to use (a plain copy of
#                       github.com/rustsec/advisory-db, or a git checkout of it);
#                       default: shared/rustsec-advisory-db beside the repository
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_DENY_VERSION=0.20.2
ADVISORY_DB=${PG2ES_ADVISORY_DB:-$PWD/../shared/rustsec-advisory-db}
# deny.toml: db-path + the folder cargo-deny derives from db-urls.
DB_ROOT=target/advisory-dbs
DB_DIR=$DB_ROOT/advisory-db-3157b0e258782691

log() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- cargo-deny
installed=$(cargo deny --version 2>/dev/null || true)
if [[ "$installed" != "cargo-deny $CARGO_DENY_VERSION" ]]; then
    log "installing cargo-deny $CARGO_DENY_VERSION (found: ${installed:-none})"
    start=$SECONDS
    cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
    log "cargo-deny installed in $((SECONDS - start)) s"
fi

# ---------------------------------------------------------------- advisory database
if [[ ! -d "$ADVISORY_DB/crates" ]]; then
    echo "deny.sh: no RustSec database at $ADVISORY_DB (expected a crates/ folder);" \
        "set PG2ES_ADVISORY_DB" >&2
    exit 2
fi
rm -rf "$DB_DIR"
mkdir -p "$DB_ROOT"
# -p keeps a git checkout's FETCH_HEAD time, which cargo-deny reads as the age.
cp -Rp "$ADVISORY_DB" "$DB_DIR"
chmod -R u+w "$DB_DIR"
if [[ ! -d "$DB_DIR/.git" ]]; then
    # A plain copy (not a git repository): cargo-deny takes the modification
    # time of .git/FETCH_HEAD as the time of the last fetch. Give it the
    # snapshot's date (NOTE.md, else the newest advisory), not today, so that
    # maximum-db-staleness in deny.toml judges the real age of the data.
    snapshot=$(grep -oE '20[0-9]{2}-[0-9]{2}-[0-9]{2}' "$DB_DIR/NOTE.md" 2>/dev/null | head -n 1 || true)
    if [[ -z "$snapshot" ]]; then
        snapshot=$(grep -rhoE '^date = "[0-9]{4}-[0-9]{2}-[0-9]{2}"' "$DB_DIR/crates" |
            grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' | sort | tail -n 1)
    fi
    mkdir -p "$DB_DIR/.git"
    : >"$DB_DIR/.git/FETCH_HEAD"
    touch -d "${snapshot}T00:00:00Z" "$DB_DIR/.git/FETCH_HEAD"
    log "advisory database: $ADVISORY_DB (snapshot of $snapshot, $(find "$DB_DIR/crates" -name '*.md' | wc -l) crate advisories)"
else
    log "advisory database: $ADVISORY_DB (git checkout)"
fi

# ---------------------------------------------------------------- crates
# cargo-deny reads `cargo metadata` offline: every crate of Cargo.lock must be in
# the local cache (a no-op when it is; else downloaded from crates.io).
cargo fetch --locked --offline >/dev/null 2>&1 || cargo fetch --locked

# ---------------------------------------------------------------- check
checks=("$@")
[[ ${#checks[@]} -gt 0 ]] || checks=(advisories bans licenses sources)
log "cargo deny --frozen check ${checks[*]}"
cargo deny --frozen check --show-stats "${checks[@]}"
