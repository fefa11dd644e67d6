import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { BridgeTopology } from '@causeway/bridge';
import {
  TEST_AMQP_URL,
  createTestDatabase,
  deleteBrokerObjects,
  enrolNodeProcess,
  eventually,
  uniqueSuffix,
} from '@causeway/testing';
import { createControlPlane } from '@causeway/control-plane/dist/app';
import { loadConfig } from '@causeway/control-plane/dist/config/config';
import { EnrolmentService } from '@causeway/control-plane/dist/enrolment/enrolment.service';
import { createRootLogger } from '@causeway/control-plane/dist/logging';
import { NodesService } from '@causeway/control-plane/dist/nodes/nodes.service';
import { SESSION_COOKIE } from '@causeway/control-plane/dist/sessions/session-cookie';
import { SessionsService } from '@causeway/control-plane/dist/sessions/sessions.service';
import { SigningKeysService } from '@causeway/control-plane/dist/trust/signing-keys.service';
import { TenantsService } from '@causeway/control-plane/dist/tenants/tenants.service';
import { UsersRepository } from '@causeway/control-plane/dist/users/users.repository';

/**
 * The control-plane side of the `files` benchmark (bench/src/files.ts), run in a child process
 * of its own (`fork`): its own peak RSS, and the bench client does not load its code.
 */

const REPO_ROOT = join(__dirname, '..', '..');

/** What the control-plane child reports once everything is ready. */
export interface Ready {
  url: string;
  ws: string;
  cookie: string;
  nodePid: number;
  storageDir: string;
}

/** In the child: a real control plane, an enrolled node process, a tenant, a workspace on the
 * node and a signed-in user who may write to it. Reports `Ready`, then cleans up on 'close'. */
async function controlPlaneChild(): Promise<void> {
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async (): Promise<void> => {
    for (const step of cleanups.reverse()) {
      await step().catch((error: unknown) =>
        process.stderr.write(`files: clean-up step failed: ${String(error)}\n`),
      );
    }
  };
  const closing = new Promise<void>((resolve) => {
    process.on('message', (message) => message === 'close' && resolve());
    process.on('disconnect', () => resolve());
  });
  try {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const port = await freePort();
    const config = loadConfig({
      CAUSEWAY_PUBLIC_URL: `http://127.0.0.1:${port}`,
      CAUSEWAY_DATABASE_URL: db.url,
      CAUSEWAY_AMQP_URL: TEST_AMQP_URL,
      CAUSEWAY_ADMIN_TOKEN: `bench-token-${uniqueSuffix()}-${uniqueSuffix()}-${uniqueSuffix()}`,
      CAUSEWAY_BRIDGE_NAMESPACE: `bench-${uniqueSuffix()}`,
      CAUSEWAY_INSTANCE_ID: `bench-cp-${uniqueSuffix()}`,
      CAUSEWAY_CA_SEAL_KEY: `bench-seal-key-${uniqueSuffix()}`,
      CAUSEWAY_LOG_LEVEL: 'warn',
    });
    const topology = new BridgeTopology(config.bridgeNamespace);
    const nodeIds: string[] = [];
    cleanups.push(async () => {
      const { queues, exchanges } = topology.names(nodeIds, [config.instanceId]);
      await deleteBrokerObjects(queues, exchanges, TEST_AMQP_URL);
    });
    // Logs go to stderr: stdout is the benchmark's results.
    const app = await createControlPlane({
      config,
      logger: createRootLogger('warn', process.stderr),
    });
    cleanups.push(() => app.close());
    await app.listen(port, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    const signingKeys = app.get(SigningKeysService);
    if (signingKeys.enabled) await signingKeys.activeKey();

    const tenant = await app.get(TenantsService).create({
      slug: 'bench',
      name: 'Bench',
      region: 'eu-west',
    });
    const { token } = await app.get(EnrolmentService).createToken('bench', {});
    const { nodeId, stateDir } = await enrolNodeProcess({
      controlPlaneUrl: url,
      token,
      name: 'bench-node',
    });
    nodeIds.push(nodeId);
    cleanups.push(async () => rmSync(stateDir, { recursive: true, force: true }));
    cleanups.push(async () => {
      await app.get(NodesService).revoke(nodeId);
    });
    // For profiling the node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
    const nodeArgs = (process.env.CAUSEWAY_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const node = spawn(
      process.execPath,
      [...nodeArgs, join(REPO_ROOT, 'services/node/dist/main.js')],
      {
        env: {
          PATH: process.env.PATH ?? '',
          CAUSEWAY_NODE_ID: nodeId,
          CAUSEWAY_STATE_DIR: stateDir,
          CAUSEWAY_HEARTBEAT_INTERVAL_MS: '1000',
          CAUSEWAY_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 2, 2],
      },
    );
    const nodeExited = new Promise<void>((resolve) => node.on('exit', () => resolve()));
    cleanups.push(async () => {
      if (node.exitCode !== null || node.signalCode !== null) return;
      // Asked first (a profiled node writes its profile on the way out), then killed.
      node.kill('SIGTERM');
      const late = setTimeout(() => node.kill('SIGKILL'), 10_000);
      await nodeExited;
      clearTimeout(late);
    });
    await eventually(async () => (await app.get(NodesService).get(nodeId)).status === 'online', {
      timeoutMs: 30_000,
      what: 'node online',
    });

    const admin = { authorization: `Bearer ${config.adminToken}` };
    const created = await fetch(`${url}/api/v1/tenants/bench/workspaces`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', node: nodeId }),
    });
    if (created.status !== 202) {
      throw new Error(`creating the workspace answered ${created.status}: ${await created.text()}`);
    }
    const ws = ((await created.json()) as { id: string }).id;
    await eventually(
      async () => {
        const res = await fetch(`${url}/api/v1/tenants/bench/workspaces/${ws}`, { headers: admin });
        return ((await res.json()) as { state?: string }).state === 'ready';
      },
      { timeoutMs: 30_000, what: 'workspace ready' },
    );

    const user = await app
      .get(UsersRepository)
      .findOrCreate(tenant.id, 'bench@bench.test', 'bench@bench.test', new Date());
    await app.get(DataSource).query(
      `INSERT INTO role_assignments (id, tenant_id, role_name, principal, scope_type, created_at, created_by)
       VALUES (gen_random_uuid(), $1, 'owner', $2, 'tenant', now(), 'bench')`,
      [tenant.id, `user:${user.id}`],
    );
    const session = await app.get(SessionsService).open({
      tenantId: tenant.id,
      userId: user.id,
      authMethod: 'password',
      secondFactor: true,
      ip: '127.0.0.1',
      userAgent: 'bench',
    });
    const ready: Ready = {
      url,
      ws,
      cookie: `${SESSION_COOKIE}=${session.token}`,
      nodePid: node.pid ?? 0,
      storageDir: join(stateDir, 'objects'),
    };
    process.send?.(ready);
    await closing;
  } finally {
    await cleanUp();
  }
}

/** A TCP port free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

if (require.main === module && process.argv.includes('--control-plane')) {
  controlPlaneChild().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `files: control plane failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
