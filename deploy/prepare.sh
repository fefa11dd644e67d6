#!/usr/bin/env bash
# Shared first steps of `npm test`, `npm run demo` and `npm run bench`: check Node, install
# dependencies when needed, make sure PostgreSQL and RabbitMQ are reachable, build everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "causeway: Node.js 20.19 or later is required (22 or 24 recommended): https://nodejs.org/en/download" >&2
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "causeway: Node.js $(node -v) is too old; install 20.19 or later (22 or 24 recommended)." >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "causeway: installing dependencies (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

bash deploy/ensure-services.sh

echo "causeway: building..."
npm run --silent build
