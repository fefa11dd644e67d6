#!/usr/bin/env bash
# `npm run demo`: the control plane, one registered node and a seeded tenant, on this machine.
# Keeps running until Ctrl-C. State (token, node id, logs) lives in .causeway/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash deploy/prepare.sh

state=.causeway/demo
mkdir -p "$state"
chmod 700 .causeway "$state"
if [ ! -s "$state/admin-token" ]; then
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' >"$state/admin-token")
fi

if [ ! -s "$state/ca-seal-key" ]; then
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' >"$state/ca-seal-key")
fi
export CAUSEWAY_CA_SEAL_KEY="${CAUSEWAY_CA_SEAL_KEY:-$(cat "$state/ca-seal-key")}"
export CAUSEWAY_DATABASE_URL="${CAUSEWAY_DATABASE_URL:-postgres://causeway:causeway@127.0.0.1:5432/causeway}"
export CAUSEWAY_AMQP_URL="${CAUSEWAY_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}"
export CAUSEWAY_ADMIN_TOKEN="${CAUSEWAY_ADMIN_TOKEN:-$(cat "$state/admin-token")}"
export CAUSEWAY_HTTP_HOST="${CAUSEWAY_HTTP_HOST:-127.0.0.1}"
export CAUSEWAY_HTTP_PORT="${CAUSEWAY_HTTP_PORT:-8080}"
export CAUSEWAY_INSTANCE_ID="${CAUSEWAY_INSTANCE_ID:-demo}"
cp_cli=(node services/control-plane/dist/cli/main.js)
base="http://${CAUSEWAY_HTTP_HOST}:${CAUSEWAY_HTTP_PORT}"

"${cp_cli[@]}" migrate
if ! "${cp_cli[@]}" nodes list --tenant demo >/dev/null 2>&1; then
  "${cp_cli[@]}" tenants create --slug demo --name "Demo Company" --region eu-west
fi
node_id=$("${cp_cli[@]}" nodes list --tenant demo --json | node -e '
  const items = JSON.parse(require("fs").readFileSync(0, "utf8")).items;
  const n = items.find((i) => i.name === "demo-node-1");
  process.stdout.write(n ? n.id : "");')
# The node's own broker user: its password is shown once, so keep it (mode 600) for later runs.
node_env="$state/node.env"
if [ -z "$node_id" ] || [ ! -s "$node_env" ] || ! grep -q "CAUSEWAY_NODE_ID=$node_id" "$node_env"; then
  if [ -z "$node_id" ]; then
    access=$("${cp_cli[@]}" nodes register --tenant demo --name demo-node-1 --json)
  else
    access=$("${cp_cli[@]}" nodes credentials --node "$node_id" --json)
  fi
  (umask 077 && printf '%s' "$access" | node -e '
    const a = JSON.parse(require("fs").readFileSync(0, "utf8"));
    process.stdout.write(`CAUSEWAY_NODE_ID=${a.nodeId}\nCAUSEWAY_AMQP_URL=${a.broker.amqpUrl}\n`);' >"$node_env")
fi
node_id=$(sed -n 's/^CAUSEWAY_NODE_ID=//p' "$node_env")
node_amqp_url=$(sed -n 's/^CAUSEWAY_AMQP_URL=//p' "$node_env")

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node services/control-plane/dist/main.js >"$state/control-plane.log" 2>&1 &
pids+=($!)
CAUSEWAY_NODE_ID="$node_id" CAUSEWAY_AMQP_URL="$node_amqp_url" CAUSEWAY_STATE_DIR="${CAUSEWAY_STATE_DIR:-$state/node-state}" node services/node/dist/main.js >"$state/node.log" 2>&1 &
pids+=($!)

ready=""
for _ in $(seq 1 120); do
  if curl -fsS -H "Authorization: Bearer $CAUSEWAY_ADMIN_TOKEN" "$base/api/v1/nodes/$node_id" 2>/dev/null | grep -q '"status":"online"'; then
    ready=yes
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "causeway: a process stopped; see $state/*.log" >&2; tail -n 5 "$state"/*.log >&2; exit 1; }
  done
  sleep 0.5
done
[ -n "$ready" ] || { echo "causeway: the node did not come online in 60 s; see $state/*.log" >&2; exit 1; }

cat <<MSG

  Causeway demo is running.

  Control plane   $base
  API reference   $base/api/docs
  Tenant          demo (region eu-west)
  Node            demo-node-1  id $node_id  (online)

  Sign in: the API takes the platform operator token as a bearer token:
    export CAUSEWAY_TOKEN=\$(cat $state/admin-token)
    curl -H "Authorization: Bearer \$CAUSEWAY_TOKEN" $base/api/v1/nodes
    curl -X POST -H "Authorization: Bearer \$CAUSEWAY_TOKEN" $base/api/v1/nodes/$node_id/ping
  In $base/api/docs press "Authorize" and paste the token.

  Enrol a second node (docs/operator/running-a-node.md):
    TOKEN=\$(curl -s -X POST -H "Authorization: Bearer \$CAUSEWAY_TOKEN" $base/api/v1/tenants/demo/join-tokens | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
    node services/node/dist/cli/main.js enroll --control-plane $base --token "\$TOKEN" --name node-2 --state-dir .causeway/node-2
    CAUSEWAY_STATE_DIR=.causeway/node-2 node services/node/dist/main.js

  Logs: $state/control-plane.log, $state/node.log.  Stop with Ctrl-C.
MSG

if [ "${CAUSEWAY_DEMO_EXIT_WHEN_READY:-}" = "1" ]; then exit 0; fi
wait -n "${pids[@]}"
echo "causeway: a process stopped; see $state/*.log" >&2
exit 1
