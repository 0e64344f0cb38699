#!/usr/bin/env bash
# Re-render the golden examples of the Fieldstone chart after an intended template or values change:
#   deploy/helm/golden/default.yaml          the chart's own values.yaml
#   deploy/helm/golden/<variant>.yaml        values.yaml + deploy/helm/fieldstone/ci/<variant>-values.yaml
# tests/deploy compares the chart's output with these files; review the diff before committing.
#
# Usage: scripts/helm/update-golden.sh
set -euo pipefail

REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
CHART=$REPO_ROOT/deploy/helm/fieldstone
GOLDEN=$REPO_ROOT/deploy/helm/golden
# Keep in step with tests/deploy/chart.py (RELEASE, NAMESPACE, KUBE_VERSION).
RELEASE=fieldstone
NAMESPACE=fieldstone
KUBE_VERSION=1.30.0

HELM=$("$REPO_ROOT/scripts/helm/install-helm.sh")
mkdir -p -- "$GOLDEN"

render() {
    local name=$1
    shift
    "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" "$@" \
        >"$GOLDEN/$name.yaml"
    printf '[golden] %s\n' "${GOLDEN#"$REPO_ROOT"/}/$name.yaml" >&2
}

render default
for values in "$CHART"/ci/*-values.yaml; do
    variant=$(basename -- "$values" -values.yaml)
    render "$variant" --values "$values"
done
