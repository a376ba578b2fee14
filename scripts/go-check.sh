#!/usr/bin/env bash
# gofmt and go vet over the project's Go code (tools/go), and the stand-ins' unit tests with --test.
# `npm run lint` runs the first part; `npm run test:real` runs it with --test.
set -euo pipefail
cd "$(dirname "$0")/../tools/go"
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "go-check: not gofmt'd:" >&2
  echo "$unformatted" >&2
  exit 1
fi
# kubernetes-provider embeds files that scripts/tools.sh generates before it builds: vetted there by the build.
for m in langhost-nodejs command-provider kind cilium chart-images; do
  (cd "$m" && go vet ./...)
done
if [ "${1:-}" = --test ]; then
  for m in langhost-nodejs command-provider; do
    (cd "$m" && go test -count=1 ./...)
  done
fi
