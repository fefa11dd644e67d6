#!/usr/bin/env bash
# `npm run demo`: the control plane, one enrolled node and a seeded tenant, on this machine.
# Keeps running until Ctrl-C. State (token, node keys, logs) lives in .causeway/demo/.
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
  "${cp_cli[@]}" tenants create --slug demo --name "Demo Company" --region eu-west \
    --owner-email admin@demo.test --owner-name "Demo Admin"
fi
# A demo user who signs in with a password (on for the demo tenant only; tenants start SSO-first).
if [ ! -s "$state/demo-password" ]; then
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(18).toString("base64url"))' >"$state/demo-password")
fi
demo_user=$("${cp_cli[@]}" users create --tenant demo --email admin@demo.test --name "Demo Admin" \
  --password-file "$state/demo-password" --json | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
"${cp_cli[@]}" sign-in-policy set --tenant demo --passwords on >/dev/null
node_state="${CAUSEWAY_STATE_DIR:-$state/node-state}"
# Left over from the days nodes were registered with a broker password: no longer used.
rm -f "$state/node.env"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops the demo when one of its processes has died, showing the end of the logs.
check_alive() {
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "causeway: a process stopped; see $state/*.log" >&2; tail -n 5 "$state"/*.log >&2; exit 1; }
  done
}

# Emailed sign-in codes and invitations land in a local mailbox file (deploy/dev-mailbox.js).
if [ ! -s "$state/email-code-key" ]; then
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))' >"$state/email-code-key")
fi
rm -f "$state/mailbox.port"
node deploy/dev-mailbox.js "$state/mailbox.txt" >"$state/mailbox.port" 2>"$state/mailbox.log" &
pids+=($!)
for _ in $(seq 1 40); do [ -s "$state/mailbox.port" ] && break; check_alive; sleep 0.25; done
export CAUSEWAY_SMTP_URL="${CAUSEWAY_SMTP_URL:-smtp://127.0.0.1:$(head -n 1 "$state/mailbox.port")}"
export CAUSEWAY_SMTP_REQUIRE_TLS="${CAUSEWAY_SMTP_REQUIRE_TLS:-false}"
export CAUSEWAY_EMAIL_CODE_KEY="${CAUSEWAY_EMAIL_CODE_KEY:-$(cat "$state/email-code-key")}"
export CAUSEWAY_MAIL_FROM="${CAUSEWAY_MAIL_FROM:-Causeway demo <no-reply@demo.test>}"

node services/control-plane/dist/main.js >"$state/control-plane.log" 2>&1 &
pids+=($!)

ready=""
for _ in $(seq 1 120); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then
    ready=yes
    break
  fi
  check_alive
  sleep 0.5
done
[ -n "$ready" ] || { echo "causeway: the control plane was not ready in 60 s; see $state/control-plane.log" >&2; exit 1; }
# The demo user owns the demo tenant (already so when this script created the tenant).
CAUSEWAY_TOKEN="$CAUSEWAY_ADMIN_TOKEN" node services/control-plane/dist/admin-cli/main.js --url "$base" \
  roles assign --tenant demo --role owner --user "$demo_user" >/dev/null 2>&1 || true

# The node enrols once, with a one-time join token; its keys and node.json stay in its state
# directory, and every later run starts from them alone.
if [ ! -f "$node_state/node.json" ]; then
  if [ -n "$(ls -A "$node_state" 2>/dev/null)" ]; then
    # No enrolment, but not empty: an earlier version's node, or an interrupted enrolment.
    if [ -n "${CAUSEWAY_STATE_DIR:-}" ]; then
      echo "causeway: $node_state is not empty but holds no enrolled node; empty it or set another CAUSEWAY_STATE_DIR" >&2
      exit 1
    fi
    mv "$node_state" "$node_state.old-$(date +%s)"
  fi
  # A node of this name from an earlier run cannot run without the keys it enrolled with: cut it
  # off and enrol under a fresh name (a name stays taken, even by a revoked node).
  node_name=demo-node-1
  stale=$("${cp_cli[@]}" nodes list --tenant demo --json | node -e '
    const items = JSON.parse(require("fs").readFileSync(0, "utf8")).items;
    const n = items.find((i) => i.name === process.argv[1]);
    process.stdout.write(n ? `${n.id} ${n.status}` : "");' "$node_name")
  if [ -n "$stale" ]; then
    [ "${stale#* }" = revoked ] || "${cp_cli[@]}" nodes revoke --node "${stale%% *}" >/dev/null
    node_name="demo-node-1-$(date +%s)"
  fi
  token=$("${cp_cli[@]}" join-tokens create --tenant demo --json | node -e '
    process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).token);')
  node services/node/dist/cli/main.js enroll --control-plane "$base" --token "$token" \
    --name "$node_name" --state-dir "$node_state"
  unset token
fi
node_id=$(node -e '
  process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).nodeId);' \
  "$node_state/node.json")

CAUSEWAY_STATE_DIR="$node_state" node services/node/dist/main.js >"$state/node.log" 2>&1 &
pids+=($!)

online=""
for _ in $(seq 1 120); do
  view=$(curl -fsS -H "Authorization: Bearer $CAUSEWAY_ADMIN_TOKEN" "$base/api/v1/nodes/$node_id" 2>/dev/null || true)
  if printf '%s' "$view" | grep -q '"status":"online"'; then
    online=yes
    break
  fi
  check_alive
  sleep 0.5
done
[ -n "$online" ] || { echo "causeway: the node did not come online in 60 s; see $state/*.log" >&2; exit 1; }
node_name=$(printf '%s' "$view" | node -e '
  process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).name);')

cat <<MSG

  Causeway demo is running.

  Control plane   $base
  Web console     $base/?tenant=demo  (sign in as admin@demo.test: password below, or a code from the mailbox)
  API reference   $base/api/docs
  Tenant          demo (region eu-west)
  Node            $node_name  id $node_id  (online)

  Sign in: the API takes the platform operator token as a bearer token:
    export CAUSEWAY_TOKEN=\$(cat $state/admin-token)
    curl -H "Authorization: Bearer \$CAUSEWAY_TOKEN" $base/api/v1/nodes
    curl -X POST -H "Authorization: Bearer \$CAUSEWAY_TOKEN" $base/api/v1/nodes/$node_id/ping
  In $base/api/docs press "Authorize" and paste the token.

  Sign in as the owner of the demo tenant (admin@demo.test, password in $state/demo-password):
    curl -c $state/cookies -H 'Content-Type: application/json' $base/api/v1/auth/demo/password \\
      -d "{\"email\":\"admin@demo.test\",\"password\":\"\$(cat $state/demo-password)\"}"
    curl -b $state/cookies $base/api/v1/me
  Mail (sign-in codes, invitations) goes to $state/mailbox.txt.
  Walkthrough (workspace, custom role, partner invitation): docs/admin/getting-started.md

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
