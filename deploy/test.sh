#!/usr/bin/env bash
# `npm test`: the whole suite against the real PostgreSQL and RabbitMQ. Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/prepare.sh
echo "causeway: checking format and lint..."
npx --no-install prettier --check --log-level warn .
npx --no-install eslint --max-warnings 0 .
npx --no-install tsc -p tsconfig.test.json --noEmit
bash deploy/ensure-browser.sh
echo "causeway: running tests..."
mkdir -p .causeway
results=.causeway/test-results.json
rm -f "$results"
set +e
npx --no-install jest --json --outputFile="$results" "$@"
status=$?
set -e
# The closing line CI reads. Suites that could not run count as failures.
node -e '
  const fs = require("fs");
  const f = process.argv[1];
  if (!fs.existsSync(f)) { console.log("0 passed, 1 failed"); process.exit(0); }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results"
exit "$status"
