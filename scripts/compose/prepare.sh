#!/usr/bin/env bash
# Engine, base images and the project's image for `make compose-test`
# (scripts/compose/test.sh sources this). Follows the shared recipe
# (shared/containers/README.md, beside the checkout): rootful podman with
# runc, base images made locally with debootstrap under the names the
# Dockerfile and docker-compose.yaml use, then `podman build` of the
# Dockerfile as it is. Steps already done (engine configured, an image
# present) are skipped; the image build relies on buildah's layer cache.
#
#   bash scripts/compose/prepare.sh        # alone: prepares and exits
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The recipe: $PG2ES_CONTAINERS, or shared/containers beside the checkout
# (CI), or /work/shared/containers (a worktree one level deeper).
compose_recipe_dir() {
    local d
    for d in "${PG2ES_CONTAINERS:-}" "$root/../shared/containers" /work/shared/containers; do
        [[ -n "$d" && -x "$d/compose.sh" ]] && { (cd "$d" && pwd); return 0; }
    done
    echo "compose-test: no shared/containers recipe beside the checkout ($root/../shared/containers); set PG2ES_CONTAINERS" >&2
    return 1
}
RECIPE="$(compose_recipe_dir)"
# shellcheck source=/dev/null
. "$RECIPE/env.sh"

clog() { printf '[%(%T)T] compose-test: %s\n' -1 "$*" >&2; }

# The image the compose file's pg2es service names (`image: pg2es:local`;
# podman resolves the short name to localhost/).
PG2ES_IMAGE="${PG2ES_IMAGE:-localhost/pg2es:local}"

prepare_engine() {
    if [[ ! -s "$CONTAINERS_CONF" ]] || ! command -v podman >/dev/null; then
        clog "installing and configuring podman ($RECIPE/setup-podman.sh)"
        bash "$RECIPE/setup-podman.sh" >&2
    fi
}

# Base images named by Dockerfile and docker-compose.yaml (curl: kibana-init's);
# made only when absent.
prepare_base_images() {
    local missing=() pair name tag
    for pair in debian=docker.io/library/debian:bookworm-slim \
        rust=docker.io/library/rust:1.95-bookworm \
        postgres=docker.io/library/postgres:16 \
        elasticsearch=docker.elastic.co/elasticsearch/elasticsearch:8.15.5 \
        curl=docker.io/curlimages/curl:8.11.1; do
        name="${pair%%=*}" tag="${pair#*=}"
        podman image exists "$tag" || missing+=("$name")
    done
    if ((${#missing[@]})); then
        # The recipe finds Debian's mirror with a grep over /etc/apt/sources.list
        # and sources.list.d/*.sources under pipefail: where one of them is missing
        # (as here: deb822 sources only) grep exits 2 and the recipe stops without
        # a word. Hand it the mirror, read from the files that exist.
        if [[ -z "${MIRROR:-}" ]]; then
            local f
            for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
                [[ -f "$f" ]] || continue
                MIRROR="$(grep -h -oE 'https?://[^ ]+/debian/?$' "$f" | grep -v snapshot | head -n 1 || true)"
                [[ -n "$MIRROR" ]] && break
            done
            [[ -n "${MIRROR:-}" ]] || { clog "FAIL: no Debian mirror in the apt sources; set MIRROR"; return 1; }
            export MIRROR
        fi
        clog "making base images: ${missing[*]} ($RECIPE/make-base-images.sh)"
        bash "$RECIPE/make-base-images.sh" "${missing[@]}"
    fi
}

# The Dockerfile as it is. --network host: cargo and apt-get reach the
# package registries (nothing listens during the build); --pull=never: the
# FROM names resolve to the local base images.
build_image() {
    clog "podman build of $root/Dockerfile -> $PG2ES_IMAGE (log: $CTR/build.log)"
    local start=$SECONDS
    if ! podman build --network host --pull=never -t "$PG2ES_IMAGE" "$root" >"$CTR/build.log" 2>&1; then
        tail -n 30 "$CTR/build.log" >&2
        clog "FAIL: the image does not build from $root/Dockerfile (full log: $CTR/build.log)"
        return 1
    fi
    clog "image built in $((SECONDS - start))s: $(podman image inspect "$PG2ES_IMAGE" --format '{{.Size}}' | numfmt --to=iec)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    prepare_engine
    prepare_base_images
    build_image
fi
