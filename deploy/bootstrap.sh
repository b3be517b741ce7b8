#!/usr/bin/env bash
# Installs what mpehub needs on a fresh Debian-like machine, and nothing that is already there:
# uv, the Python dependencies (uv.lock), Java 17 and Maven (for the Kafka broker), the
# PostgreSQL server binaries, the Kafka jars (into a cache outside git), Node.js and the
# gateway's partner portal (deploy/portal.sh), and Chromium with Korean fonts for the browser test.
# Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[bootstrap] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root to run: $*"; exit 1
  fi
}

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    say "please install: $* (no apt-get here)"; exit 1
  fi
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  say "installing $* with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# uv
if ! command -v uv >/dev/null 2>&1 && ! python3 -m uv --version >/dev/null 2>&1; then
  say "installing uv with pip"
  python3 -m pip install --quiet uv 2>/dev/null || python3 -m pip install --quiet --user uv \
    || python3 -m pip install --quiet --break-system-packages uv
fi

# PostgreSQL server binaries (the client alone is not enough)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
# runuser lets root start Postgres as the postgres user
command -v runuser >/dev/null 2>&1 || command -v setpriv >/dev/null 2>&1 || apt_install util-linux

# Java 17+ and Maven for the Kafka broker
if ! command -v java >/dev/null 2>&1; then apt_install openjdk-17-jre-headless; fi
if ! command -v mvn >/dev/null 2>&1; then apt_install maven; fi
# Node.js and npm: the AsyncAPI CLI and renderer (deploy/asyncapi) and the partner portal
# (services/gateway/portal), each pinned in its package-lock.json. Chromium checks that the
# rendered AsyncAPI page loads nothing from elsewhere and runs the portal's browser test
# (Playwright drives the system's Chromium: it cannot download its own here); the CJK fonts
# render Korean in its screenshots.
if ! command -v npm >/dev/null 2>&1; then apt_install nodejs npm; fi
if ! command -v chromium >/dev/null 2>&1; then apt_install chromium; fi
if ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then apt_install fonts-noto-cjk; fi

UV="uv"; command -v uv >/dev/null 2>&1 || UV="python3 -m uv"
say "syncing Python dependencies from uv.lock"
$UV sync --frozen --quiet
say "fetching Kafka jars (cached)"
$UV run --frozen python -c 'from mpe_devstack.jars import ensure_kafka_jars; ensure_kafka_jars()'
bash deploy/asyncapi/install.sh
bash deploy/k8s/tools.sh
bash deploy/portal.sh
say "ready"
