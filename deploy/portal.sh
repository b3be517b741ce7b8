#!/usr/bin/env bash
# Builds the gateway's partner portal (services/gateway/portal/dist): the GraphiQL explorer and
# the documentation served at /docs/. The npm packages come from package-lock.json (`npm ci`),
# installed again only when the lock file changed; the build itself always runs, and fails on a
# broken link or on a schema the reference does not show.
set -euo pipefail
cd "$(dirname "$0")/../services/gateway/portal"

say() { printf '[portal] %s\n' "$*"; }

stamp=node_modules/.mpehub-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm packages from package-lock.json"
  # esbuild's binary comes as an optional dependency; no install script needs to run.
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$want" > "$stamp"
fi
say "building the explorer and the docs"
node build.mjs
