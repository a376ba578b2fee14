#!/usr/bin/env bash
# actionlint over the project's GitHub workflows (or the files given), built from its Go module like the
# real tier's tools (scripts/tools.sh, tools/go/actionlint). `npm run lint` runs it; the real tier tests it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(bash scripts/tools.sh build actionlint)"
if [ $# -eq 0 ]; then
  set -- .github/workflows/*.yml
fi
exec "$bin/actionlint" -no-color "$@"
