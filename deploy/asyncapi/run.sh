#!/usr/bin/env bash
# `run.sh validate FILE`, `run.sh render FILE OUTDIR`, `run.sh check-offline PAGE`: the pinned
# AsyncAPI tools, offline.
# The CLI's anonymous usage metrics are turned off by a config file of ours, so nothing is sent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/install.sh"
export ASYNCAPI_METRICS_CONFIG_PATH="$here/analytics.json"
case "${1:-}" in
  validate)
    "$here/node_modules/.bin/asyncapi" validate "$2" --fail-severity error ;;
  render)
    # singleFile inlines the renderer's scripts and styles: the page loads nothing from elsewhere.
    "$here/node_modules/.bin/ag" "$2" "$here/node_modules/@asyncapi/html-template" -o "$3" \
      -p singleFile=true --force-write --disable-warning ;;
  check-offline)
    # The machine's Chromium, driven by puppeteer, with every request off this machine refused.
    node "$here/check-offline.js" "$2" "$(command -v chromium)" ;;
  *) echo "usage: $0 validate FILE | render FILE OUTDIR | check-offline PAGE" >&2; exit 2 ;;
esac
