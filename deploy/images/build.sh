#!/usr/bin/env bash
# `make images`: build every service's image from the one Dockerfile, without a Docker engine.
# podman builds (chroot isolation: this kind of machine cannot run the default OCI runtime) on
# a base made from Debian's own packages with mmdebstrap, since no image registry is reachable.
# Elsewhere, `docker build --build-arg SERVICE=catalog .` uses the default python:3.11-slim.
#   deploy/images/build.sh [catalog firms budget gateway]     (all four by default)
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE_IMAGE=localhost/mpehub-base:bookworm
TAG="${MPE_IMAGE_TAG:-dev}"
SERVICES=("$@"); [ ${#SERVICES[@]} -gt 0 ] || SERVICES=(catalog firms budget gateway)

say() { printf '[images] %s\n' "$*"; }

if ! command -v podman >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing podman and mmdebstrap with apt"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman mmdebstrap >/dev/null
fi

if ! podman image exists "$BASE_IMAGE"; then
  say "making the base image from Debian bookworm (python3 3.11, venv) with mmdebstrap"
  tar_file="$(mktemp -d)/base.tar"
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$tar_file"
  podman import --quiet "$tar_file" "$BASE_IMAGE" >/dev/null
  rm -rf "$(dirname "$tar_file")"
  say "made $BASE_IMAGE at ${SECONDS} s"
fi

NODE_BASE_IMAGE=localhost/mpehub-node-base:bookworm
if ! podman image exists "$NODE_BASE_IMAGE"; then
  say "making the Node.js base image (the gateway's portal build) from Debian bookworm with mmdebstrap"
  tar_file="$(mktemp -d)/node-base.tar"
  mmdebstrap --quiet --variant=minbase --include=nodejs,npm,ca-certificates bookworm "$tar_file"
  podman import --quiet "$tar_file" "$NODE_BASE_IMAGE" >/dev/null
  rm -rf "$(dirname "$tar_file")"
  say "made $NODE_BASE_IMAGE at ${SECONDS} s"
fi

# Behind a TLS-inspecting proxy the host trusts an extra CA: lend the build the same bundle.
ca_args=()
if [ -n "${SSL_CERT_FILE:-}" ] && [ -f "$SSL_CERT_FILE" ]; then
  ca_args=(--volume "$SSL_CERT_FILE:/run/build-ca.crt:ro" --build-arg EXTRA_CA=/run/build-ca.crt)
fi
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)"
for service in "${SERVICES[@]}"; do
  say "building localhost/mpehub/$service:$TAG"
  started=$SECONDS
  podman build --quiet --isolation chroot "${ca_args[@]}" \
    --build-arg BASE="$BASE_IMAGE" --build-arg NODE_BASE="$NODE_BASE_IMAGE" --build-arg SERVICE="$service" \
    --build-arg REVISION="$revision" --build-arg VERSION="$version" \
    -t "localhost/mpehub/$service:$TAG" -f Dockerfile . >/dev/null
  say "built localhost/mpehub/$service:$TAG in $((SECONDS - started)) s"
done
say "built: ${SERVICES[*]} (tag $TAG) in ${SECONDS} s"
