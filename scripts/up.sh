#!/usr/bin/env bash
# npm run up: brings up the dev stack (or STACK=<name>) on a file backend inside this checkout, so no
# Pulumi Cloud account is needed. Extra arguments go to `pulumi up` (e.g. npm run up -- --yes).
set -euo pipefail
cd "$(dirname "$0")/.."

stack="${STACK:-dev}"
for tool in docker kind kubectl pulumi; do
    command -v "$tool" >/dev/null 2>&1 || { echo "cilium-castle: '$tool' is not on PATH (see README, Prerequisites)" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "cilium-castle: Docker is not running" >&2; exit 1; }

# The state lives in .pulumi-state/ (git-ignored); secrets are encrypted with PULUMI_CONFIG_PASSPHRASE,
# empty for a throw-away local stack unless you set one.
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"

[ -d node_modules ] || npm ci
pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"

policy=()
if [ -f policypack/PulumiPolicy.yaml ]; then
    [ -d policypack/node_modules ] || npm ci --prefix policypack
    policy=(--policy-pack policypack)
fi
exec pulumi up --stack "$stack" "${policy[@]}" "$@"
