#!/usr/bin/env bash
# Runs the benchmarks against the real services: `npm run bench [-- NAME...]`, no name for all.
# Results go to stdout (each benchmark ends with a `NAME: ratio X.XX` line); progress to stderr.
# See docs/bench.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -f deploy/ensure-services.sh ]]; then
  # Its chatter goes to stderr, so stdout holds only the benchmarks' results.
  bash deploy/ensure-services.sh >&2
fi
npm run build --silent
exec node bench/dist/main.js "$@"
