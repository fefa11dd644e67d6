import type { NestExpressApplication } from '@nestjs/platform-express';
import supertest from 'supertest';
import { BridgeTopology } from '@causeway/bridge';
import {
  TEST_AMQP_URL,
  createTestDatabase,
  deleteBrokerObjects,
  startNodeProcess,
  uniqueSuffix,
  type RabbitMqInstance,
  type ServiceProcess,
  type TestDatabase,
} from '@causeway/testing';
import { createControlPlane } from '../src/app';
import { loadConfig, type ControlPlaneConfig } from '../src/config/config';
import { createRootLogger } from '../src/logging';
import type { NodeView } from '../src/nodes/nodes.dto';
import { NodesService } from '../src/nodes/nodes.service';
import { TenantsService } from '../src/tenants/tenants.service';

export const HEARTBEAT_MS = 300;
export const OFFLINE_AFTER_MS = 1500;
export const BRIDGE_TIMEOUT_MS = 1500;

/**
 * A real control plane (in this process, on a throw-away database and its own bridge
 * namespace) plus real node processes started from dist/, all on the real broker.
 */
export class Stack {
  readonly nodes: ServiceProcess[] = [];
  readonly nodeIds: string[] = [];
  /** Each node's own broker URL (its own RabbitMQ user), as registration handed it out. */
  readonly nodeUrls = new Map<string, string>();
  readonly logLines: string[] = [];

  private constructor(
    readonly app: NestExpressApplication,
    readonly config: ControlPlaneConfig,
    private readonly db: TestDatabase,
    readonly logs: string[],
    private readonly amqpUrl: string,
  ) {}

  /** `amqpUrl` is the broker the stack's nodes and clean-up use (the shared one by default). */
  static async start(
    overrides: Record<string, string> = {},
    amqpUrl = TEST_AMQP_URL,
  ): Promise<Stack> {
    const db = await createTestDatabase();
    const config = loadConfig({
      CAUSEWAY_DATABASE_URL: db.url,
      CAUSEWAY_AMQP_URL: TEST_AMQP_URL,
      CAUSEWAY_ADMIN_TOKEN: `test-token-${uniqueSuffix()}-${uniqueSuffix()}-${uniqueSuffix()}`,
      CAUSEWAY_BRIDGE_NAMESPACE: `t${uniqueSuffix()}`,
      CAUSEWAY_INSTANCE_ID: `cp-${uniqueSuffix()}`,
      CAUSEWAY_NODE_OFFLINE_AFTER_MS: String(OFFLINE_AFTER_MS),
      CAUSEWAY_BRIDGE_TIMEOUT_MS: String(BRIDGE_TIMEOUT_MS),
      CAUSEWAY_LOG_LEVEL: 'debug',
      ...overrides,
    });
    const logs: string[] = [];
    const logger = createRootLogger('debug', { write: (line: string) => void logs.push(line) });
    const app = await createControlPlane({ config, logger });
    await app.listen(0, '127.0.0.1');
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

  async registerNode(tenant: string, name: string): Promise<NodeView> {
    const { node, credentials } = await this.app.get(NodesService).register({ tenant, name });
    this.nodeIds.push(node.id);
    this.nodeUrls.set(node.id, credentials.amqpUrl(this.amqpUrl));
    return node;
  }

  startNode(
    nodeId: string,
    extraEnv: Record<string, string> = {},
    stateDir?: string,
  ): ServiceProcess {
    const node = startNodeProcess({
      nodeId,
      ...(stateDir === undefined ? {} : { stateDir }),
      namespace: this.config.bridgeNamespace,
      amqpUrl: this.nodeUrls.get(nodeId) ?? this.amqpUrl,
      heartbeatIntervalMs: HEARTBEAT_MS,
      extraEnv,
    });
    this.nodes.push(node);
    return node;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    const nodes = this.app.get(NodesService);
    for (const id of this.nodeIds) await nodes.revoke(id).catch(() => undefined);
    await this.app.close();
    await this.db.drop();
    const { queues, exchanges } = this.topology.names(this.nodeIds, [this.config.instanceId]);
    await deleteBrokerObjects(queues, exchanges, this.amqpUrl);
  }
}
