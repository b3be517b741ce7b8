#!/usr/bin/env bash
# Installs the pinned tools that check deploy/k8s offline (called by deploy/bootstrap.sh):
# kustomize and kubeconform from the Go module proxy into ~/.cache/mpehub/bin (with Go 1.24 from
# the same proxy when the machine's go is older than 1.21), and promtool
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

# Both tools need Go 1.24 or newer to build. A go of 1.21 or newer fetches that toolchain itself
# (GOTOOLCHAIN=auto). An older one (Debian 12's golang-go is 1.19) cannot, but it can download
# the module that toolchain comes as (golang.org/toolchain, what GOTOOLCHAIN itself fetches)
# from the Go module proxy: its tree is a whole Go, kept in ~/.cache/mpehub.
GO_TOOLCHAIN=go1.24.0
GO=go

choose_go() {
  command -v go >/dev/null 2>&1 || apt_install golang-go
  local version minor=99
  version=$(go env GOVERSION)
  [[ $version =~ ^go1\.([0-9]+) ]] && minor=${BASH_REMATCH[1]}
  if [ "$minor" -ge 24 ]; then return; fi
  # 1.21 and later fetch the toolchain a module asks for, unless told to use only their own.
  if [ "$minor" -ge 21 ]; then
    case "$(go env GOTOOLCHAIN)" in local | path | *+path) ;; *) return ;; esac
  fi
  local dir="$HOME/.cache/mpehub/$GO_TOOLCHAIN"
  if [ ! -x "$dir/bin/go" ]; then
    # GOHOSTARCH: this machine's, even in a shell that cross-compiles (GOARCH set).
    local module="golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-$(go env GOHOSTARCH)" json src work
    say "$version cannot build them: fetching $GO_TOOLCHAIN from the Go module proxy"
    # Outside any module, so that no go.mod around changes what is resolved. A failure is
    # reported in the JSON ("Error"), on stdout.
    work=$(mktemp -d)
    if ! json=$(cd "$work" && go mod download -json "$module"); then
      rm -rf "$work"
      say "could not download $module:"
      printf '%s\n' "$json" >&2
      exit 1
    fi
    rm -rf "$work"
    src=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    # The module cache is read-only and keeps no execute bits: copy, then mark the programs. A
    # copy left by an interrupted run is read-only too: make it writable before removing it.
    [ ! -e "$dir.partial" ] || chmod -R u+w "$dir.partial"
    rm -rf "$dir.partial"
    mkdir -p "$(dirname "$dir")"
    cp -r "$src" "$dir.partial"
    chmod -R u+w "$dir.partial"
    chmod +x "$dir.partial"/bin/* "$dir.partial"/pkg/tool/*/*
    mv "$dir.partial" "$dir"
  fi
  GO="$dir/bin/go"
}

go_tool() {  # go_tool NAME MODULE VERSION: install unless this exact version is there
  local name=$1 module=$2 version=$3
  if [ -x "$BIN/$name" ] && [ "$(cat "$BIN/.$name.version" 2>/dev/null)" = "$version" ]; then return; fi
  choose_go
  say "installing $name $version (go install, $("$GO" env GOVERSION))"
  mkdir -p "$BIN"
  GOBIN="$BIN" "$GO" install "$module@$version"
  echo "$version" > "$BIN/.$name.version"
}

go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"

# promtool lints and unit-tests the alert rules.
command -v promtool >/dev/null 2>&1 || apt_install prometheus
