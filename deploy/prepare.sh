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

# Reinstall only when the lock file changed since the last install. `npm install` rather than
# `npm ci`: npm 11 writes lock files without other platforms' optional packages and `npm ci`
# then refuses them; `npm install` keeps the locked versions.
lock_hash=$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync("package-lock.json")).digest("hex"))')
if [ ! -d node_modules ] || [ "$(cat node_modules/.causeway-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  echo "causeway: installing dependencies (npm install)..."
  npm install --no-audit --no-fund --loglevel=error
  node -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync("package-lock.json")).digest("hex"))' >node_modules/.causeway-lock-hash
fi

bash deploy/ensure-services.sh

echo "causeway: building..."
npm run --silent build
