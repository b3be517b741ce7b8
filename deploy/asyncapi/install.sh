#!/usr/bin/env bash
# Installs the pinned AsyncAPI tools (package-lock.json) into deploy/asyncapi/node_modules.
# Idempotent and quick on a second run: `npm ci` runs only when the lock file changed since the
# last install. Install scripts are skipped: none is needed to validate or render, and one of
# them (puppeteer's, for the PDF output we do not use) would download a browser.
set -euo pipefail
cd "$(dirname "$0")"
# Parallel test workers may call this at once; one installs, the others wait and find it done.
exec 9>.install.lock
flock 9
stamp=node_modules/.mpe-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
echo "[asyncapi] installing the pinned AsyncAPI CLI and HTML renderer with npm ci"
PUPPETEER_SKIP_DOWNLOAD=true npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
