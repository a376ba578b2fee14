#!/usr/bin/env bash
# npm run up / npm run preview: runs `pulumi up` or `pulumi preview` for the dev stack (or STACK=<name>)
# on a file backend inside this checkout, so no Pulumi Cloud account is needed, with the castle's policy
# pack (and policypack/config.<stack>.json, if present). Extra arguments go to pulumi.
set -euo pipefail
cd "$(dirname "$0")/.."

command="${1:?usage: scripts/pulumi.sh up|preview [pulumi args...]}"
shift
stack="${STACK:-dev}"
tools=(pulumi)
[ "$command" = up ] && tools+=(docker kind kubectl)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "cilium-castle: '$tool' is not on PATH (see README, Prerequisites)" >&2; exit 1; }
done
if [ "$command" = up ]; then
    docker info >/dev/null 2>&1 || { echo "cilium-castle: Docker is not running" >&2; exit 1; }
fi

# The state lives in .pulumi-state/ (git-ignored); secrets are encrypted with PULUMI_CONFIG_PASSPHRASE,
# empty for a throw-away local stack unless you set one.
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"

[ -d node_modules ] || npm ci
[ -d policypack/node_modules ] || npm ci --prefix policypack
pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"

policy=(--policy-pack policypack)
[ -f "policypack/config.$stack.json" ] && policy+=(--policy-pack-config "policypack/config.$stack.json")
exec pulumi "$command" --stack "$stack" "${policy[@]}" "$@"
