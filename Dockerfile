# syntax=docker/dockerfile:1
#
# pg2es: keeps the Elasticsearch indexes `movies`, `genres` and `persons` in sync with
# PostgreSQL (the three pipelines of /app/pipelines).
#
#   docker build -t pg2es .
#   docker run --rm -v pg2es-data:/data \
#     -e PG2ES__POSTGRES__URL=postgres://postgres:secret@db:5432/movies \
#     -e PG2ES__ELASTICSEARCH__URL=http://elasticsearch:9200 pg2es [run|sync --once|check|status]
#
# Or the whole stack (Postgres with sample data, Elasticsearch, Kibana, pg2es):
#   docker compose up -d --build

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------- builder
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /build

# Dependency layer: build every dependency against a dummy crate, so that a
# change under src/ does not rebuild them. The crate has a lib (src/lib.rs) and
# a bin (src/main.rs); Cargo.toml declares [[test]] path = "tests/main.rs", so an
# empty one is created too (cargo build does not compile it, but keeps any
# manifest check on target paths happy).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests \
    && echo 'fn main() {}' > src/main.rs \
    && : > src/lib.rs \
    && : > tests/main.rs \
    && cargo build --release --locked

# The real sources (the SQL under src/**/sql/ and the shipped movies declaration,
# which pg2es knows indexes built before pipelines were declared by, are pulled in
# by include_str!). COPY keeps the sources' old mtimes, older than the dummy build:
# touch the crate roots so cargo rebuilds pg2es itself instead of reusing the dummy.
COPY src ./src
COPY pipelines ./pipelines
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && strip target/release/pg2es \
    && install -m 0755 target/release/pg2es /usr/local/bin/pg2es \
    && pg2es --version

# ---------------------------------------------------------------- runtime
FROM debian:${DEBIAN_RELEASE}-slim

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Non-root user; /data holds the state file and the dead letters.
RUN groupadd --system --gid 10001 pg2es \
    && useradd --system --uid 10001 --gid pg2es --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin pg2es \
    && mkdir -p /app /data \
    && chown pg2es:pg2es /data

WORKDIR /app
COPY --from=builder /usr/local/bin/pg2es /usr/local/bin/pg2es
COPY index_config.json /app/index_config.json
COPY pipelines /app/pipelines

# No config.yaml in the image: a missing config file means defaults (the three pipelines in
# /app/pipelines: movies, genres, persons) plus PG2ES__SECTION__KEY variables (mount one and
# pass --config to use a file).
ENV PG2ES__STATE__PATH=/data/state.yaml \
    PG2ES__DEAD_LETTER__PATH=/data/dead_letter.ndjson \
    PG2ES__HTTP__ADDRESS=0.0.0.0:9464
# /metrics, /healthz and /readyz (see Operations in the README).
EXPOSE 9464

# Keep /data on a named volume: the state file is the worker's position.
VOLUME ["/data"]
USER 10001:10001

# The image has no HTTP client, so Docker's own check runs `pg2es status`, which
# exits non-zero when Postgres or Elasticsearch cannot be reached (it retries 3
# times, quickly); orchestrators probe /healthz and /readyz on port 9464.
HEALTHCHECK --interval=30s --timeout=30s --start-period=30s --retries=3 \
    CMD ["pg2es", "status"]

# run: create the index if absent, back-fill, then follow changes; SIGTERM or
# SIGINT stops it cleanly (exit 0) with the last acknowledged position saved.
ENTRYPOINT ["pg2es"]
CMD ["run"]
