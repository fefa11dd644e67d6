#!/usr/bin/env bash
# `npm test`: the whole suite against the real PostgreSQL and RabbitMQ. Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/prepare.sh
echo "causeway: checking format and lint..."
npx --no-install prettier --check --log-level warn .
npx --no-install eslint --max-warnings 0 .
npx --no-install tsc -p tsconfig.test.json --noEmit
echo "causeway: running tests..."
exec npx --no-install jest "$@"
