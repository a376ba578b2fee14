#!/usr/bin/env bash
# npm run down: destroys the dev stack (or STACK=<name>); for kind, deleting the cluster command deletes
# the cluster and everything in it.
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${STACK:-dev}"
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
exec pulumi destroy --stack "$stack" "$@"
