#!/usr/bin/env bash
# Installs the pinned tools that check deploy/k8s offline (called by deploy/bootstrap.sh):
# kustomize and kubeconform from the Go module proxy into ~/.cache/mpehub/bin, and promtool
# (Debian's prometheus package) for the alert rules. Safe to run again: each step checks first.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1
KUBECONFORM_VERSION=v0.7.0
BIN="${MPE_TOOLS_BIN:-$HOME/.cache/mpehub/bin}"

say() { printf '[k8s-tools] %s\n' "$*"; }

apt_install() {
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing $* with apt"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

go_tool() {  # go_tool NAME MODULE VERSION: install unless this exact version is there
  local name=$1 module=$2 version=$3
  if [ -x "$BIN/$name" ] && [ "$(cat "$BIN/.$name.version" 2>/dev/null)" = "$version" ]; then return; fi
  # Both need Go 1.24 or newer to build. A go of 1.21 or newer fetches that toolchain itself
  # (GOTOOLCHAIN=auto); Debian 12's golang-go is 1.19 and cannot: use bookworm-backports'
  # golang-1.2x or a go already on the machine.
  command -v go >/dev/null 2>&1 || apt_install golang-go
  say "installing $name $version (go install)"
  mkdir -p "$BIN"
  GOBIN="$BIN" go install "$module@$version"
  echo "$version" > "$BIN/.$name.version"
}

go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"

# promtool lints and unit-tests the alert rules.
command -v promtool >/dev/null 2>&1 || apt_install prometheus
