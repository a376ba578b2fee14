#!/usr/bin/env bash
# npm run test:real: builds (or reuses) the real tools, installs the policy pack's dependencies, then runs
# the real tier (test/real/*.real.ts) through the real Pulumi CLI against a simulated cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every tool but the Cilium oracles, which only npm run conformance:cilium needs (minutes to build cold).
bash scripts/tools.sh build pulumi langhost-nodejs command-provider kubernetes-provider kube etcd kwok kind \
  cilium chart-images actionlint >/dev/null
bash scripts/go-check.sh --test
[ -d policypack/node_modules ] || npm ci --prefix policypack --no-audit --no-fund
exec npx mocha --config test/real/.mocharc.json "$@"
