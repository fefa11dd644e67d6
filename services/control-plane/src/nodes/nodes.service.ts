import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { BridgeClient } from '@causeway/bridge';
import { CausewayError, type Heartbeat, type MethodResult } from '@causeway/contracts';
import {
  BrokerUsersService,
  type NodeBrokerCredentials,
} from '../broker-users/broker-users.service';
import { NodeRpc } from '../bridge/node-rpc';
import { Clock } from '../common/clock';
import { NodeKeys } from '../trust/node-keys';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { TenantsService } from '../tenants/tenants.service';
import type { NodeEntity } from './node.entity';
import type { NodeView } from './nodes.dto';
import { NodesRepository } from './nodes.repository';
import { AuditService } from '../audit/audit.service';

/** Told when a node comes back online or restarted (it may have missed commands meanwhile). */
export type NodeReturnListener = (node: { id: string; tenantId: string }) => void;

@Injectable()
export class NodesService implements OnApplicationBootstrap {
  private readonly returnListeners = new Set<NodeReturnListener>();

  constructor(
    private readonly nodes: NodesRepository,
    private readonly tenants: TenantsService,
    private readonly bridge: BridgeClient,
    private readonly rpc: NodeRpc,
    private readonly nodeKeys: NodeKeys,
    private readonly brokerUsers: BrokerUsersService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    private readonly audit: AuditService,
  ) {
    logger.setContext('NodesService');
  }

  /** Routes of registered nodes are (re-)declared at start: a fresh broker gets them back. */
  async onApplicationBootstrap(): Promise<void> {
    for (const id of await this.nodes.activeIds()) await this.bridge.ensureNodeRoute(id);
  }

  /**
   * Records a node that enrolled with a join token: its id comes from its certificate request,
   * its tenant and region from the token.
   */
  async registerEnrolled(input: {
    id: string;
    tenantId: string;
    name: string;
    region: string;
    certSerial: string;
    certNotAfter: Date;
    certPem: string;
    signingKeyPem: string;
  }): Promise<{ node: NodeView; credentials: NodeBrokerCredentials }> {
    if (await this.nodes.findById(input.id)) {
      throw new CausewayError('conflict', 'A node with this id is already enrolled.');
    }
    if (await this.nodes.findByName(input.tenantId, input.name)) {
      throw new CausewayError('conflict', `This tenant already has a node named "${input.name}".`);
    }
    return this.activate(await this.nodes.insert(input), 'node enrolled');
  }

  /** Declares a new node's queues and routes, and creates its own broker user. */
  private async activate(
    node: NodeEntity,
    message: string,
  ): Promise<{ node: NodeView; credentials: NodeBrokerCredentials }> {
    await this.bridge.ensureNodeRoute(node.id);
    const credentials = await this.provision(node.id);
    this.logger.info(
      { nodeId: node.id, tenantId: node.tenantId, brokerUser: credentials.username },
      message,
    );
    return { node: this.view(node), credentials };
  }

  /** Gives a node a new broker password (the old one stops working); returned once. */
  async rotateCredentials(id: string): Promise<NodeBrokerCredentials> {
    const node = await this.require(id);
    if (node.revokedAt)
      throw new CausewayError('conflict', 'A revoked node gets no new credentials.');
    const credentials = await this.provision(node.id);
    this.logger.info({ nodeId: node.id }, 'node broker credentials rotated');
    await this.audit.record({
      tenantId: node.tenantId,
      type: 'admin.node.credentials_rotated',
      outcome: 'success',
      actor: null,
      details: { nodeId: node.id },
    });
    return credentials;
  }

  private async provision(nodeId: string): Promise<NodeBrokerCredentials> {
    try {
      return await this.brokerUsers.provisionNode(nodeId);
    } catch (error) {
      this.logger.error({ nodeId, err: error }, 'could not create the node broker user');
      throw new CausewayError(
        'bridge_unavailable',
        `The node is registered, but its broker user could not be created (the RabbitMQ management API did not accept it). Fix the broker, then run "causeway-cp nodes credentials --node ${nodeId}".`,
      );
    }
  }

  /**
   * Revokes a node at once: marked revoked (requests to it and its heartbeats are refused), its
   * exchange unbound from the control plane's queues, its broker user deleted and its
   * connections closed. Irreversible: a replacement enrols anew.
   */
  async revoke(id: string): Promise<NodeView> {
    const node = await this.require(id);
    await this.nodes.markRevoked(node.id, this.clock.now());
    await this.bridge.removeNodeRoute(node.id);
    this.nodeKeys.invalidate(node.id);
    await this.brokerUsers.revokeNode(node.id);
    this.logger.warn({ nodeId: node.id }, 'node revoked');
    return this.view(await this.require(id));
  }

  async list(tenantSlug?: string): Promise<NodeView[]> {
    const rows = tenantSlug
      ? await this.nodes.listForTenant((await this.tenants.getBySlug(tenantSlug)).id)
      : await this.nodes.listAll();
    return rows.map((n) => this.view(n));
  }

  async get(id: string): Promise<NodeView> {
    return this.view(await this.require(id));
  }

  async recordHeartbeat(beat: Heartbeat): Promise<void> {
    const before = await this.nodes.findById(beat.nodeId);
    const known = await this.nodes.recordHeartbeat(beat.nodeId, {
      state: beat.state,
      version: beat.version,
      hostname: beat.hostname,
      startedAt: new Date(beat.startedAt),
      // The control plane's own clock decides freshness: node clocks may drift.
      receivedAt: this.clock.now(),
    });
    if (!known) {
      this.logger.warn({ nodeId: beat.nodeId }, 'heartbeat from an unregistered node; ignored');
      await this.audit.record({
        tenantId: null,
        type: 'admin.node.heartbeat_unknown',
        outcome: 'failure',
        actor: `node:${beat.nodeId}`,
        reason: 'unknown_node',
        details: { nodeId: beat.nodeId },
      });
      return;
    }
    // A node back from being offline or restarted may have missed a key rotation: it gets the
    // current key set at once, so it stops trusting a retired key without waiting for a request.
    const returning =
      before !== null &&
      beat.state === 'up' &&
      (!this.isOnline(before) || before.startedAt?.toISOString() !== beat.startedAt);
    if (before !== null && beat.state !== 'up' && this.isOnline(before)) {
      await this.audit.record({
        tenantId: before.tenantId,
        type: 'admin.node.offline',
        outcome: 'success',
        actor: `node:${beat.nodeId}`,
        reason: beat.state,
        details: { nodeId: beat.nodeId },
      });
    }
    if (before?.version && beat.version !== before.version) {
      await this.audit.record({
        tenantId: before.tenantId,
        type: 'admin.node.version_changed',
        outcome: 'success',
        actor: `node:${beat.nodeId}`,
        details: { nodeId: beat.nodeId, version: beat.version, previousVersion: before.version },
      });
    }
    if (returning) {
      await this.audit.record({
        tenantId: before.tenantId,
        type: 'admin.node.online',
        outcome: 'success',
        actor: `node:${beat.nodeId}`,
        details: {
          nodeId: beat.nodeId,
          version: beat.version,
          restarted: before.startedAt?.toISOString() !== beat.startedAt,
        },
      });
      for (const listener of this.returnListeners) listener(before);
      this.rpc
        .pushKeys(before, `keys-on-return-${beat.nodeId}`)
        .catch((error: unknown) =>
          this.logger.warn(
            { nodeId: beat.nodeId, err: error },
            'could not send the key set to a returning node',
          ),
        );
    }
  }

  /**
   * Registers a listener for nodes coming back (see recordHeartbeat): how other capabilities
   * resend state a node may have missed while offline, without this service knowing them.
   */
  onNodeReturned(listener: NodeReturnListener): void {
    this.returnListeners.add(listener);
  }

  async ping(
    id: string,
    echo: string | undefined,
    caller: { requestId: string; subject: string },
  ): Promise<MethodResult<'ping'> & { roundTripMs: number }> {
    const node = await this.requireOnline(id);
    const started = performance.now();
    const result = await this.rpc.call(node, 'ping', echo === undefined ? {} : { echo }, caller);
    return { ...result, roundTripMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  async info(
    id: string,
    caller: { requestId: string; subject: string },
  ): Promise<MethodResult<'node.info'>> {
    return this.rpc.call(await this.requireOnline(id), 'node.info', {}, caller);
  }

  private async require(id: string): Promise<NodeEntity> {
    const node = await this.nodes.findById(id);
    if (!node) throw new CausewayError('not_found', 'No node with this id exists.');
    return node;
  }

  /** Fails fast for a node known to be offline instead of waiting out the bridge timeout. */
  private async requireOnline(id: string): Promise<NodeEntity> {
    const node = await this.require(id);
    if (node.revokedAt) {
      throw new CausewayError('node_unavailable', `Node "${node.name}" has been revoked.`);
    }
    if (!this.isOnline(node)) {
      const why =
        node.state === 'stopping'
          ? 'it was shut down'
          : `no heartbeat within ${this.config.nodeOfflineAfterMs} ms`;
      throw new CausewayError(
        'node_unavailable',
        `Node "${node.name}" is offline (${why}). Try again when it is back.`,
      );
    }
    return node;
  }

  private isOnline(node: NodeEntity): boolean {
    if (node.state !== 'up' || !node.lastHeartbeatAt) return false;
    return (
      this.clock.now().getTime() - node.lastHeartbeatAt.getTime() <= this.config.nodeOfflineAfterMs
    );
  }

  private view(node: NodeEntity): NodeView {
    return {
      id: node.id,
      tenantId: node.tenantId,
      name: node.name,
      region: node.region,
      status: node.revokedAt ? 'revoked' : this.isOnline(node) ? 'online' : 'offline',
      state: node.state,
      version: node.version,
      hostname: node.hostname,
      startedAt: node.startedAt?.toISOString() ?? null,
      lastHeartbeatAt: node.lastHeartbeatAt?.toISOString() ?? null,
      revokedAt: node.revokedAt?.toISOString() ?? null,
      certificate:
        node.certSerial && node.certNotAfter
          ? {
              serial: node.certSerial,
              notAfter: node.certNotAfter.toISOString(),
              renewedAt: node.renewedAt?.toISOString() ?? null,
            }
          : null,
      createdAt: node.createdAt.toISOString(),
    };
  }
}
