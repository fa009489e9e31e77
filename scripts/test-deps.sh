#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, quietly, and only what is missing (safe to run
# again): kubectl (the end-to-end tests drive the real one); Go with Masterminds sprig and
# sigs.k8s.io/yaml from Debian (tests/helm_render renders the Helm chart as Helm does); gopher-lua
# from Debian (tests/argocd_lua runs docs/gitops.md's Argo CD health script as Argo CD does);
# Node.js and, from npm, the Prometheus Operator's CRD schemas (tests/prometheus_crds) and a CEL
# interpreter with optional syntax (tests/flux_cel evaluates the Flux healthCheckExprs);
# util-linux's `script` (a pseudo-terminal for the log-colour test); Prometheus' `promtool`
# (Debian's prometheus package: tests/monitoring.rs checks and unit-tests the alerts and the
# metrics exposition with it); the AWS CLI from PyPI in a virtualenv (tests/e2e_guide.rs runs
# docs/guide.md's `aws connect` commands against the emulator).
#
#   scripts/test-deps.sh && cargo test --workspace
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || missing+=(golang-github-masterminds-sprig-dev)
[ -d /usr/share/gocode/src/sigs.k8s.io/yaml ] || missing+=(golang-k8s-sigs-yaml-dev)
[ -d /usr/share/gocode/src/github.com/yuin/gopher-lua ] || missing+=(golang-github-yuin-gopher-lua-dev)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)

if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm packages pinned in each directory's package-lock.json.
npm_ci() { # <dir> <a package directory under node_modules that shows it is installed>
    if [ ! -d "$1/node_modules/$2" ] || [ "$1/package-lock.json" -nt "$1/node_modules" ]; then
        (cd "$1" && npm ci --no-audit --no-fund --silent >/dev/null)
    fi
}
npm_ci tests/prometheus_crds @kubernetes-models/prometheus-operator
npm_ci tests/flux_cel @marcbachmann/cel-js

# The AWS CLI, pinned, in its own virtualenv (tests/e2e_guide.rs looks for it there).
AWSCLI_VERSION=1.45.11
AWSCLI_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/connect-user-operator/awscli-$AWSCLI_VERSION"
if [ ! -x "$AWSCLI_VENV/bin/aws" ]; then
    rm -rf "$AWSCLI_VENV"
    python3 -m venv "$AWSCLI_VENV"
    "$AWSCLI_VENV/bin/pip" install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION"
fi
