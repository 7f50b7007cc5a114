#!/usr/bin/env bash
# `make test`: start the real services, run lint, unit tests and the integration suite against
# Elasticsearch and then OpenSearch, stop the services again (also on failure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== dependency audit"
bash scripts/deny.sh

bash scripts/stack/up.sh
trap 'bash scripts/stack/down.sh' EXIT
# shellcheck source=/dev/null
source target/stack.env

echo "== lint"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

echo "== unit tests"
cargo test --locked --lib

echo "== integration tests against Elasticsearch ($PG2ES_TEST_ELASTICSEARCH_URL)"
PG2ES_TEST_SEARCH_URL="$PG2ES_TEST_ELASTICSEARCH_URL" cargo test --locked --test main

echo "== integration tests against OpenSearch ($PG2ES_TEST_OPENSEARCH_URL)"
PG2ES_TEST_SEARCH_URL="$PG2ES_TEST_OPENSEARCH_URL" cargo test --locked --test main
