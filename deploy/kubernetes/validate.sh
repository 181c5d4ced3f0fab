#!/usr/bin/env bash
# CI: the Kubernetes manifests, validated against the API's schema of the
# oldest release they support (1.29: native sidecars) and the newest
# kubernetes-validate knows, strictly (an unknown field is an error), with
# the schemas it ships: offline, in a venv under the target folder. Then
# deploy/kubernetes/check.py checks their phx-redact command lines against
# the binary and runs them from the unpacked image (deploy/image/check.sh
# makes it, when it is not there yet).
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${CARGO_TARGET_DIR:-target}
venv=$target/k8s-venv
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r deploy/kubernetes/requirements.txt

for version in 1.29 1.37; do
  "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" deploy/kubernetes/*.yaml
done
echo "deploy/kubernetes/*.yaml: valid for Kubernetes 1.29 and 1.37 (strict)"

bundle=$target/image/bundle
[ -x "$bundle/rootfs/phx-redact" ] || bash deploy/image/check.sh
"$venv/bin/python" deploy/kubernetes/check.py \
  --binary "$target/static/x86_64-unknown-linux-gnu/release/phx-redact" --rootfs "$bundle/rootfs"
