import { inspect } from 'node:util';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  BridgeTopology,
  ROUTE_DEAD_LETTER,
  ROUTE_HEARTBEAT,
  StreamTopology,
  replyRoute,
} from '@causeway/bridge';
import { COMMAND_RESULTS_ROUTE } from '@causeway/contracts';
import { randomToken } from '@causeway/crypto';
import { ROOT_LOGGER } from '../logging';
import { BrokerUsersError } from './broker-users.errors';
import {
  RabbitMqManagementClient,
  type Permissions,
  type TopicPermissions,
} from './rabbitmq-management.client';

/** Injection token of the service's options. */
export const BROKER_USERS_OPTIONS = Symbol('BrokerUsersOptions');

export interface BrokerUsersOptions {
  /** The management API, without credentials: `https://broker.example.com:15671`. */
  managementUrl: string;
  /** The control plane's management user; it needs the `administrator` tag. */
  adminUsername: string;
  adminPassword: string;
  /** The vhost the bridge lives in; `/` by default. */
  vhost?: string;
  /** The bridge namespace (CAUSEWAY_BRIDGE_NAMESPACE): node users may touch only its names. */
  namespace: string;
  /** Each management call is aborted after this long; 5000 ms by default. */
  timeoutMs?: number;
  /** Replaces the global fetch; for tests. */
  fetch?: typeof fetch;
}

/** Everything a node's broker user is allowed, in RabbitMQ's terms. */
export interface NodeBrokerPermissions extends Permissions {
  username: string;
  vhost: string;
  /** Routing keys the node may publish with on its own (topic) exchange. */
  topic: TopicPermissions & { exchange: string };
}

/** Result of a revocation, for the audit trail. */
export interface NodeRevocation {
  username: string;
  /** False when there was no such user (already revoked, or never provisioned). */
  userDeleted: boolean;
  /** Connections this call closed; the broker may already have closed them itself. */
  connectionsClosed: number;
}

const NODE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Same rule as BridgeClient's instance ids, which name reply routes. */
const INSTANCE_ID = '[a-z0-9-]{1,64}';

/**
 * A node's broker credentials. The password is there to be handed to the node once, by
 * explicit `credentials.password`; logging or serialising the object shows it redacted.
 */
export class NodeBrokerCredentials {
  constructor(
    readonly username: string,
    readonly password: string,
  ) {}

  /** The broker URL the node connects with: the control plane's broker address, the node's user. */
  amqpUrl(brokerUrl: string): string {
    const url = new URL(brokerUrl);
    url.username = encodeURIComponent(this.username);
    url.password = encodeURIComponent(this.password);
    return url.toString();
  }

  toJSON(): { username: string; password: string } {
    return { username: this.username, password: '[redacted]' };
  }

  [inspect.custom](): string {
    return `NodeBrokerCredentials { username: '${this.username}', password: [redacted] }`;
  }
}

/** The broker user name of a node. */
export function nodeBrokerUsername(nodeId: string): string {
  return `node-${requireNodeId(nodeId)}`;
}

/**
 * The permissions of a node's user: exactly its own queue and exchange, anchored, dots escaped.
 *
 * - configure `^(<ns>\.node\.<id>\.rpc|<ns>\.node\.<id>\.out)$`: the node declares both on
 *   every (re)connect (BridgeTopology.assertNodeOwn), and a declare needs configure even when
 *   the object exists. It also lets the node delete them, which harms no one but itself.
 * - write `^<ns>\.node\.<id>\.out$`: publishing needs write on the exchange, and this is the
 *   only one the node may publish to. Not `amq.default` (so no sendToQueue into anyone's
 *   queue), not `<ns>.inbound`, not `<ns>.dead`.
 * - read `^<ns>\.node\.<id>\.rpc$`: consuming (and purging) needs read on the queue.
 * - topic permissions on its exchange: write only the routing keys the bridge uses
 *   (`heartbeat`, `dead-letter`, `command-results`, `reply.<instance>`), read nothing.
 *
 * The dead-letter exchange argument (x-dead-letter-exchange = `<ns>.dead`) of the rpc queue:
 * RabbitMQ checks, only when a queue.declare *creates* the queue, read on the queue and write on
 * the DLX (rabbit_channel: the `{error, not_found}` branch of queue.declare; verified on 3.10.8
 * in test/broker-isolation.e2e.spec.ts). Re-declaring an existing queue with the same
 * arguments needs configure only. We deliberately do NOT grant write on `<ns>.dead`: with it a
 * node could publish straight into the dead-letter queue, past its own exchange, and forge
 * messages that look dead-lettered by the broker. The control plane creates every node's queue
 * (BridgeClient.ensureNodeRoute, at registration and at every start), so the node only ever
 * re-declares it. A node whose queue was deleted waits until the control plane declares it
 * again, which it must anyway: only the control plane can bind the node's exchange into
 * `<ns>.inbound`.
 */
export function nodeBrokerPermissions(
  topology: BridgeTopology,
  nodeId: string,
  vhost = '/',
): NodeBrokerPermissions {
  const streams = new StreamTopology(topology);
  const queue = escapeRegex(topology.nodeRpcQueue(requireNodeId(nodeId)));
  // The node's stream queues: chunks to it and credits for its own sends (libs/bridge/STREAMS.md).
  const streamQueues = [streams.nodeDataQueue(nodeId), streams.nodeControlQueue(nodeId)].map(
    escapeRegex,
  );
  const exchange = escapeRegex(topology.nodeExchange(nodeId));
  const routes = [ROUTE_HEARTBEAT, ROUTE_DEAD_LETTER, COMMAND_RESULTS_ROUTE].map(escapeRegex);
  for (const prefix of [replyRoute(''), streams.dataRoute(''), streams.controlRoute('')]) {
    routes.push(`${escapeRegex(prefix)}${INSTANCE_ID}`);
  }
  return {
    username: nodeBrokerUsername(nodeId),
    vhost,
    configure: `^(${[queue, exchange, ...streamQueues].join('|')})$`,
    write: `^${exchange}$`,
    read: `^(${[queue, ...streamQueues].join('|')})$`,
    topic: {
      exchange: topology.nodeExchange(nodeId),
      write: `^(${routes.join('|')})$`,
      read: '^$',
    },
  };
}

/**
 * One RabbitMQ user per node, created and removed by the control plane through the management
 * API, allowed nothing but the node's own queue and exchange (see nodeBrokerPermissions).
 * Passwords are returned once and never logged.
 */
@Injectable()
export class BrokerUsersService {
  private readonly client: RabbitMqManagementClient;
  private readonly topology: BridgeTopology;
  private readonly vhost: string;
  private readonly logger: Logger | undefined;

  constructor(
    @Inject(BROKER_USERS_OPTIONS) options: BrokerUsersOptions,
    @Optional() @Inject(ROOT_LOGGER) logger?: Logger,
  ) {
    this.vhost = options.vhost ?? '/';
    this.topology = new BridgeTopology(options.namespace);
    this.client = new RabbitMqManagementClient({
      baseUrl: options.managementUrl,
      username: options.adminUsername,
      password: options.adminPassword,
      vhost: this.vhost,
      timeoutMs: options.timeoutMs ?? 5000,
      fetch: options.fetch,
    });
    this.logger = logger?.child({ component: 'broker-users' });
  }

  /** What `provisionNode` grants; for audit views and tests. */
  permissionsOf(nodeId: string): NodeBrokerPermissions {
    return nodeBrokerPermissions(this.topology, nodeId, this.vhost);
  }

  /**
   * Creates the node's user `node-<id>` with a fresh random password (256 bits) and its
   * permissions, and returns the credentials. Calling it again rotates the password; the
   * node's open connections stay open until they reconnect (revoke first to cut them).
   * Call it after the node's route is declared (registration does that): the node cannot
   * create its own queue. If any step fails the user is deleted again, so a half-configured
   * account never stays behind.
   */
  async provisionNode(nodeId: string): Promise<NodeBrokerCredentials> {
    const permissions = this.permissionsOf(nodeId);
    const { username } = permissions;
    const password = randomToken(32);
    try {
      // No tags: the node's user cannot log in to the management API.
      await this.client.putUser(username, password, '');
      await this.client.setPermissions(username, permissions);
      await this.client.setTopicPermissions(
        username,
        permissions.topic.exchange,
        permissions.topic,
      );
    } catch (error) {
      await this.client.deleteUser(username).catch(() => undefined);
      this.logger?.warn(
        { nodeId, username, reason: reasonOf(error) },
        'node broker user could not be provisioned; removed again',
      );
      throw error;
    }
    this.logger?.info({ nodeId, username, vhost: this.vhost }, 'node broker user provisioned');
    return new NodeBrokerCredentials(username, password);
  }

  /**
   * Deletes the node's user, so no new connection can log in, then closes the connections it
   * still has: a deleted user's open connections would otherwise keep the permissions they
   * were opened with (RabbitMQ 3.10+ closes them on deletion too; this does not rely on it).
   * Idempotent.
   */
  async revokeNode(nodeId: string): Promise<NodeRevocation> {
    const username = nodeBrokerUsername(nodeId);
    const userDeleted = await this.client.deleteUser(username);
    const connectionsClosed = await this.client.closeConnectionsOf(
      username,
      'Causeway: broker access of this node was revoked',
    );
    this.logger?.info(
      { nodeId, username, userDeleted, connectionsClosed },
      'node broker user revoked',
    );
    return { username, userDeleted, connectionsClosed };
  }

  /**
   * Readiness: the management API answers and the control plane's user may manage users
   * (the `administrator` tag; nothing less can create users or set permissions).
   */
  async checkReady(): Promise<void> {
    const me = await this.client.whoami();
    if (!me.tags.includes('administrator')) {
      throw new BrokerUsersError('management_not_administrator', `(user "${me.name}")`);
    }
  }
}

function requireNodeId(nodeId: string): string {
  if (!NODE_ID.test(nodeId)) throw new BrokerUsersError('invalid_node_id');
  return nodeId;
}

/** Every regex metacharacter escaped; for our names that means the dots. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : 'unknown error';
}
