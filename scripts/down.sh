#!/usr/bin/env bash
# npm run down: destroys the dev stack (or STACK=<name>); for kind, deleting the cluster command deletes
# the cluster and everything in it. Extra arguments go to `pulumi destroy`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/pulumi-env.sh
. scripts/pulumi-env.sh
castle_need pulumi
castle_pulumi_env "$root"
stack="${STACK:-dev}"
exec pulumi destroy --stack "$stack" "$@"
