# pg2es: one command to see it work (make demo), one to run every test (make test).
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help up down test test-all lint unit demo soak clean deny bench bench-pipelines bench-capture compose-test

SEEDS ?= 50
FILMS ?= 100000
PGSYNC ?= 1
ROUNDS ?= 5

help:
	@echo "make demo   start Postgres + Elasticsearch, load sample films, index them, search"
	@echo "make test   start the stack, run lint, unit and integration tests (Elasticsearch 7.10.2, OpenSearch 3; TLS/auth against a secured OpenSearch), stop it"
	@echo "make test-all  the same, and the integration tests against OpenSearch 2.19 too"
	@echo "make up     start Postgres, Elasticsearch 7.10.2, OpenSearch 2.19 and 3, a secured OpenSearch, on loopback"
	@echo "make down   stop them (data kept under target/stack)"
	@echo "make lint   cargo fmt --check and clippy -D warnings"
	@echo "make bench  benchmark report (bench/REPORT.md): FILMS=$(FILMS) films, pg2es vs Postgres and ES alone, PGSync (PGSYNC=0 skips)"
	@echo "make bench-capture  exact capture: what each mode costs the source database on durable settings (bench/results/source-cost.md, also run by make bench), catch-up of a 203,800-change backlog (bench/results/catch-up.md)"
	@echo "make bench-pipelines  the declared movies pipeline against the compiled one it replaced, three pipelines at once (bench/results/pipelines-FILMS.md)"
	@echo "make deny   dependency audit: cargo-deny offline (advisories, bans, licences, sources)"
	@echo "make compose-test  build the image, run docker-compose.yaml under podman and check restarts, resume, config edits (root; 15-25 min the first time, then under 2)"
	@echo "make soak   the randomized index-equals-Postgres test with SEEDS=$(SEEDS) seeds (stack left up)"

up:
	bash scripts/stack/up.sh

down:
	bash scripts/stack/down.sh

test:
	bash scripts/test.sh

test-all:
	bash scripts/test.sh all

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

unit:
	cargo test --locked --lib

bench:
	FILMS=$(FILMS) PGSYNC=$(PGSYNC) ROUNDS=$(ROUNDS) bash scripts/bench.sh
	FILMS=$(FILMS) ROUNDS=3 bash scripts/bench/pipelines.sh
	ROUNDS=3 bash scripts/bench/source-cost.sh 20000 10
	ROUNDS=3 bash scripts/bench/standby-cost.sh 20000 10

bench-pipelines:
	FILMS=$(FILMS) ROUNDS=3 bash scripts/bench/pipelines.sh

bench-capture:
	ROUNDS=3 bash scripts/bench/source-cost.sh 20000 10
	ROUNDS=3 bash scripts/bench/standby-cost.sh 20000 10
	bash scripts/bench/catch-up.sh

deny:
	bash scripts/deny.sh

# Not part of `make test`: it builds the image (15 min the first time) and needs root.
compose-test:
	bash scripts/compose/test.sh

demo:
	bash scripts/demo.sh

soak:
	bash scripts/stack/up.sh postgres elasticsearch >/dev/null
	source target/stack.env && PG2ES_TEST_SEEDS=$(SEEDS) PG2ES_TEST_SEARCH_URL="$$PG2ES_TEST_ELASTICSEARCH_URL" \
		cargo test --locked --test main randomized -- --nocapture

clean: down
	rm -rf target/stack target/stack.env target/demo
