#!/usr/bin/env bash
# `make test`: start the real services, run lint, unit tests and the integration suite against
# Elasticsearch 7.10.2 and then OpenSearch 3, stop the services again (also on failure).
# `make test-all` (`scripts/test.sh all`): the same against OpenSearch 2.19 too.
# The secure node (OpenSearch 2.19 with its security plugin) is started for both: the suite's
# TLS and authentication tests (tests/security.rs) run against it in every pass.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

engines=(elasticsearch opensearch3)
if [[ "${1:-}" == all ]]; then engines=(elasticsearch opensearch opensearch3); fi

echo "== dependency audit"
bash scripts/deny.sh

bash scripts/stack/up.sh postgres secure "${engines[@]}"
trap 'bash scripts/stack/down.sh' EXIT
# shellcheck source=/dev/null
source target/stack.env

echo "== lint"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

echo "== unit tests"
cargo test --locked --lib

for engine in "${engines[@]}"; do
    case "$engine" in
        elasticsearch) url="$PG2ES_TEST_ELASTICSEARCH_URL" ;;
        opensearch) url="$PG2ES_TEST_OPENSEARCH_URL" ;;
        opensearch3) url="$PG2ES_TEST_OPENSEARCH3_URL" ;;
    esac
    echo "== integration tests against $engine ($url)"
    PG2ES_TEST_SEARCH_URL="$url" cargo test --locked --test main
done
