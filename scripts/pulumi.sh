#!/usr/bin/env bash
# npm run up / preview: `pulumi up` or `pulumi preview` of the dev stack (or STACK=<name>) with the
# castle's policy pack (and policypack/config.<stack>.json, if present). Extra arguments go to pulumi.
# npm run pulumi -- <args>: any other pulumi command on the same backend and passphrase
# (e.g. npm run pulumi -- stack init prod).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/pulumi-env.sh
. scripts/pulumi-env.sh

command="${1:?usage: scripts/pulumi.sh up|preview|pulumi [pulumi args...]}"
shift
castle_need pulumi node npm
castle_pulumi_env "$root"

if [ "$command" = pulumi ]; then
  exec pulumi "$@"
fi

stack="${STACK:-dev}"
[ -d node_modules ] || npm ci
[ -d policypack/node_modules ] || npm ci --prefix policypack
pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"

# kind and Docker are needed only when the stack creates a kind cluster.
provider="$(pulumi config get clusterProvider --stack "$stack" 2>/dev/null || echo kind)"
if [ "$command" = up ] && [ "$provider" = kind ]; then
  castle_need docker kind kubectl
  docker info >/dev/null 2>&1 || {
    echo "cilium-castle: Docker is not running" >&2
    exit 1
  }
fi

policy=(--policy-pack policypack)
[ -f "policypack/config.$stack.json" ] && policy+=(--policy-pack-config "policypack/config.$stack.json")
exec pulumi "$command" --stack "$stack" "${policy[@]}" "$@"
