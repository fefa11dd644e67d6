import { readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { BridgeTopology } from '@causeway/bridge';
import {
  TEST_AMQP_URL,
  eventually,
  createTestDatabase,
  deleteBrokerObjects,
  enrolNodeProcess,
  startNodeProcess,
  uniqueSuffix,
  type RabbitMqInstance,
  type ServiceProcess,
  type TestDatabase,
} from '@causeway/testing';
import { createControlPlane } from '../src/app';
import { loadConfig, type ControlPlaneConfig } from '../src/config/config';
import { EnrolmentService } from '../src/enrolment/enrolment.service';
import { createRootLogger } from '../src/logging';
import type { NodeView } from '../src/nodes/nodes.dto';
import { NodesService } from '../src/nodes/nodes.service';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { SessionsService } from '../src/sessions/sessions.service';
import { TenantsService } from '../src/tenants/tenants.service';
import { UsersRepository } from '../src/users/users.repository';
import { SigningKeysService } from '../src/trust/signing-keys.service';
import { UNAUDITED_ROUTE } from '../src/audited-routes/audited.interceptor';

export const HEARTBEAT_MS = 300;
export const OFFLINE_AFTER_MS = 1500;
export const BRIDGE_TIMEOUT_MS = 1500;

/**
 * A real control plane (in this process, on a throw-away database and its own bridge
 * namespace) plus real node processes started from dist/, all on the real broker. Nodes enrol
 * as operators enrol them (join token, `causeway-node enroll`), so each has its own
 * certificate, signing key and broker user.
 */
export class Stack {
  readonly nodes: ServiceProcess[] = [];
  readonly nodeIds: string[] = [];
  /** The state directory each node enrolled into (keys, node.json), by node id. */
  private readonly stateDirs = new Map<string, string>();
  readonly logLines: string[] = [];

  private constructor(
    readonly app: NestExpressApplication,
    readonly config: ControlPlaneConfig,
    private readonly db: TestDatabase,
    readonly logs: string[],
    private readonly amqpUrl: string,
  ) {}

  /** `amqpUrl` is the broker clean-up uses (the shared one by default); nodes take theirs from enrolment. */
  static async start(
    overrides: Record<string, string> = {},
    amqpUrl = TEST_AMQP_URL,
  ): Promise<Stack> {
    const db = await createTestDatabase();
    // The public URL must be known before start (identity providers redirect to it).
    const port = await freePort();
    const config = loadConfig({
      CAUSEWAY_PUBLIC_URL: `http://127.0.0.1:${port}`,
      // The tests' identity providers run on plain http on this machine.
      CAUSEWAY_DEV_ALLOW_HTTP_IDP: 'true',
      CAUSEWAY_DATABASE_URL: db.url,
      CAUSEWAY_AMQP_URL: TEST_AMQP_URL,
      CAUSEWAY_ADMIN_TOKEN: `test-token-${uniqueSuffix()}-${uniqueSuffix()}-${uniqueSuffix()}`,
      CAUSEWAY_BRIDGE_NAMESPACE: `t${uniqueSuffix()}`,
      CAUSEWAY_INSTANCE_ID: `cp-${uniqueSuffix()}`,
      CAUSEWAY_NODE_OFFLINE_AFTER_MS: String(OFFLINE_AFTER_MS),
      CAUSEWAY_BRIDGE_TIMEOUT_MS: String(BRIDGE_TIMEOUT_MS),
      CAUSEWAY_LOG_LEVEL: 'debug',
      // Enrolment (and so every node) needs the CA; '' in the overrides turns it off.
      CAUSEWAY_CA_SEAL_KEY: `test-seal-key-${uniqueSuffix()}`,
      // Sealed audit segments go to a directory of this test's own.
      CAUSEWAY_AUDIT_ARCHIVE_DIR: join(tmpdir(), `causeway-audit-${uniqueSuffix()}`),
      ...overrides,
    });
    const logs: string[] = [];
    const logger = createRootLogger('debug', { write: (line: string) => void logs.push(line) });
    const app = await createControlPlane({ config, logger });
    await app.listen(port, '127.0.0.1');
    // The first delegation unseals the control plane's signing key (scrypt: about a second).
    // Done here, so that the tests' short bridge timeout measures the bridge, not the unsealing.
    const signingKeys = app.get(SigningKeysService);
    if (signingKeys.enabled) await signingKeys.activeKey();
    return new Stack(app, config, db, logs, amqpUrl);
  }

  /** A stack on a test's own RabbitMQ instance (for tests that stop or restart the broker). */
  static async onPrivateBroker(broker: RabbitMqInstance): Promise<Stack> {
    return Stack.start(
      {
        CAUSEWAY_AMQP_URL: broker.amqpUrl,
        CAUSEWAY_AMQP_MANAGEMENT_URL: broker.managementUrl ?? '',
      },
      broker.amqpUrl,
    );
  }

  get topology(): BridgeTopology {
    return new BridgeTopology(this.config.bridgeNamespace);
  }

  http(): supertest.Agent {
    return supertest
      .agent(this.app.getHttpServer())
      .set('Authorization', `Bearer ${this.config.adminToken}`);
  }

  anonymous(): supertest.Agent {
    return supertest.agent(this.app.getHttpServer());
  }

  async createTenant(slug: string, region = 'eu-west'): Promise<void> {
    await this.app.get(TenantsService).create({ slug, name: `Tenant ${slug}`, region });
  }

  /** Where the in-process control plane listens (on port 0, so a free port). */
  get url(): string {
    const { port } = this.app.getHttpServer().address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /**
   * Enrols a node for real: a join token from the control plane, then `causeway-node enroll`
   * (from dist/) into a fresh state directory. The node is not started; see startNode.
   */
  async registerNode(tenant: string, name: string): Promise<NodeView> {
    const { token } = await this.app.get(EnrolmentService).createToken(tenant, {});
    const { nodeId, stateDir } = await enrolNodeProcess({
      controlPlaneUrl: this.url,
      token,
      name,
    });
    this.nodeIds.push(nodeId);
    this.stateDirs.set(nodeId, stateDir);
    return this.app.get(NodesService).get(nodeId);
  }

  /** The state directory a node enrolled into. */
  stateDirOf(nodeId: string): string {
    const dir = this.stateDirs.get(nodeId);
    if (dir === undefined) throw new Error(`node ${nodeId} was not enrolled by this stack`);
    return dir;
  }

  /** The node's own broker URL (its own RabbitMQ user), as enrolment wrote it to node.json. */
  nodeAmqpUrl(nodeId: string): string {
    const record = JSON.parse(readFileSync(join(this.stateDirOf(nodeId), 'node.json'), 'utf8')) as {
      amqpUrl: string;
    };
    return record.amqpUrl;
  }

  /**
   * Starts a node process from its state directory (the one it enrolled into unless a test
   * passes another): node.json supplies its broker URL and namespace.
   */
  startNode(
    nodeId: string,
    extraEnv: Record<string, string> = {},
    stateDir = this.stateDirOf(nodeId),
  ): ServiceProcess {
    const node = startNodeProcess({
      nodeId,
      stateDir,
      heartbeatIntervalMs: HEARTBEAT_MS,
      extraEnv,
    });
    this.nodes.push(node);
    return node;
  }

  async waitOnline(nodeId: string): Promise<void> {
    await eventually(
      async () =>
        ((await this.http().get(`/api/v1/nodes/${nodeId}`)).body as NodeView).status === 'online',
      { timeoutMs: 15_000, what: `node ${nodeId} online` },
    );
  }

  /**
   * Waits until the control plane has seen the node go (after `stop()`): until then a
   * restarted node's `waitOnline` could be answered by the status from before the stop.
   */
  async waitOffline(nodeId: string): Promise<void> {
    await eventually(
      async () =>
        ((await this.http().get(`/api/v1/nodes/${nodeId}`)).body as NodeView).status === 'offline',
      { timeoutMs: 15_000, what: `node ${nodeId} offline` },
    );
  }

  /** Creates a workspace on a node (as the operator, or with `cookie`) and waits until ready. */
  async readyWorkspace(tenant: string, name: string, nodeId: string, cookie?: string) {
    const request = this.anonymous()
      .post(`/api/v1/tenants/${tenant}/workspaces`)
      .set(cookie ? { Cookie: cookie } : { Authorization: `Bearer ${this.config.adminToken}` });
    const id = (await request.send({ name, node: nodeId }).expect(202)).body.id as string;
    await eventually(
      async () =>
        ((await this.http().get(`/api/v1/tenants/${tenant}/workspaces/${id}`).expect(200)).body
          .state as string) === 'ready',
      { timeoutMs: 30_000, what: `workspace ${name} ready` },
    );
    return id;
  }

  /**
   * A user of the tenant (created if new) holding `role` on the tenant, or on `workspaceId`,
   * with an open session whose second factor is confirmed: its cookie header.
   */
  async signedIn(
    tenant: string,
    email: string,
    grant: { role?: string; kind?: 'member' | 'partner'; workspaceId?: string } = {},
  ): Promise<{ userId: string; tenantId: string; cookie: string }> {
    const tenantId = (await this.app.get(TenantsService).getBySlug(tenant)).id;
    const user = await this.app
      .get(UsersRepository)
      .findOrCreate(tenantId, email, email, new Date());
    const db = this.app.get(DataSource);
    if (grant.kind === 'partner') {
      await db.query(`UPDATE users SET kind = 'partner' WHERE id = $1`, [user.id]);
    }
    if (grant.role !== undefined) {
      await db.query(
        `INSERT INTO role_assignments (id, tenant_id, role_name, principal, scope_type, workspace_id,
           created_at, created_by)
         VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, now(), 'test')`,
        [
          tenantId,
          grant.role,
          `user:${user.id}`,
          grant.workspaceId === undefined ? 'tenant' : 'workspace',
          grant.workspaceId ?? null,
        ],
      );
    }
    const { token } = await this.app.get(SessionsService).open({
      tenantId,
      userId: user.id,
      authMethod: 'password',
      secondFactor: true,
      ip: '127.0.0.1',
      userAgent: 'jest',
    });
    return { userId: user.id, tenantId, cookie: `${SESSION_COOKIE}=${token}` };
  }

  /**
   * Stops everything, then fails the suite if a request it made succeeded without recording
   * an audit event (see AuditedInterceptor): every action must leave its record.
   */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    const nodes = this.app.get(NodesService);
    for (const id of this.nodeIds) await nodes.revoke(id).catch(() => undefined);
    await this.app.close();
    await this.db.drop();
    const { queues, exchanges } = this.topology.names(this.nodeIds, [this.config.instanceId]);
    await deleteBrokerObjects(queues, exchanges, this.amqpUrl);
    for (const dir of this.stateDirs.values()) rmSync(dir, { recursive: true, force: true });
    const unaudited = new Set(
      this.logs
        .filter((line) => line.includes(UNAUDITED_ROUTE))
        .map((line) => {
          const { route, handler } = JSON.parse(line) as { route: string; handler: string };
          return `${route} (${handler})`;
        }),
    );
    if (unaudited.size > 0) {
      throw new Error(`${UNAUDITED_ROUTE}:\n  ${[...unaudited].join('\n  ')}`);
    }
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
