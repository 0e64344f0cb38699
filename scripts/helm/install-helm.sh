#!/usr/bin/env bash
# Install the pinned Helm into the tooling cache (default ~/.cache/fieldstone/bin), built with
# `go install` like the rest of the local tooling. Idempotent: a cached binary of the pinned
# version is reused; a different version is rebuilt.
#
# Usage: scripts/helm/install-helm.sh        prints the path of the helm binary on stdout
set -euo pipefail

HELM_MODULE=helm.sh/helm/v3/cmd/helm
HELM_VERSION=${FIELDSTONE_HELM_VERSION:-v3.21.4}
CACHE=${FIELDSTONE_CACHE:-$HOME/.cache/fieldstone}
BIN_DIR=$CACHE/bin
HELM_BIN=$BIN_DIR/helm
STAMP=$HELM_BIN.version

log() { printf '[helm] %s\n' "$*" >&2; }

installed_version() {
    [[ -x $HELM_BIN ]] || return 1
    if [[ -f $STAMP ]]; then
        cat -- "$STAMP"
        return 0
    fi
    # No stamp (e.g. the binary was copied in): ask the binary's build info.
    go version -m "$HELM_BIN" 2>/dev/null | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" {print $3}'
}

if [[ $(installed_version || true) == "$HELM_VERSION" ]]; then
    [[ -f $STAMP ]] || printf '%s\n' "$HELM_VERSION" >"$STAMP"
    printf '%s\n' "$HELM_BIN"
    exit 0
fi

command -v go >/dev/null 2>&1 || {
    log "ERROR: go not found; Helm $HELM_VERSION is built with 'go install' (Go >= 1.24 needed)"
    exit 1
}

mkdir -p -- "$BIN_DIR"
buildlog=$BIN_DIR/helm-build.log
log "building $HELM_MODULE@$HELM_VERSION into $BIN_DIR (first run only; log $buildlog)"
# The version string of `helm version` comes from ldflags in Helm's Makefile; set it the same way.
if ! GOBIN=$BIN_DIR CGO_ENABLED=0 GOFLAGS=-trimpath go install \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "$HELM_MODULE@$HELM_VERSION" >"$buildlog" 2>&1; then
    tail -n 30 -- "$buildlog" >&2 || true
    log "ERROR: go install $HELM_MODULE@$HELM_VERSION failed"
    exit 1
fi
printf '%s\n' "$HELM_VERSION" >"$STAMP"
log "installed $("$HELM_BIN" version --short 2>/dev/null || echo "$HELM_BIN")"
printf '%s\n' "$HELM_BIN"
