import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Logger } from 'pino';
import {
  BridgeServer,
  BridgeTopology,
  HeartbeatPublisher,
  createBridgeConnection,
} from '@causeway/bridge';
import { NODE_CONFIG, NODE_LOGGER, type NodeConfig } from '../config/config';
import { DiagnosticsHandlers } from '../diagnostics/diagnostics.handlers';
import { parseFaults } from '../faults/faults';
import { CompletionRecords } from '../state/completion-records';
import { NodeStore } from '../state/node-store';
import { WorkspacesHandlers } from '../workspaces/workspaces.handlers';
import { NODE_VERSION } from '../version';

/**
 * The node's only link to the world: one outbound connection to the broker, a consumer on its
 * own queue, and heartbeats. On shutdown it stops taking requests, finishes those in progress
 * and says it is stopping, so the control plane shows it offline at once.
 */
@Injectable()
export class NodeBridge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connection;
  private readonly server: BridgeServer;
  private readonly heartbeat: HeartbeatPublisher;

  constructor(
    @Inject(NODE_CONFIG) config: NodeConfig,
    @Inject(NODE_LOGGER) logger: Logger,
    diagnostics: DiagnosticsHandlers,
    workspaces: WorkspacesHandlers,
    @Inject(NodeStore) private readonly store: NodeStore,
  ) {
    const topology = new BridgeTopology(config.bridgeNamespace);
    this.connection = createBridgeConnection({
      url: config.amqpUrl,
      connectionName: `causeway-node:${config.nodeId}`,
      logger,
    });
    this.server = new BridgeServer({
      connection: this.connection,
      topology,
      nodeId: config.nodeId,
      logger,
      prefetch: config.prefetch,
      handlers: { ...diagnostics.handlers(), ...workspaces.handlers() },
      completions: new CompletionRecords(store),
      faults: parseFaults(config.faults, logger),
    });
    this.heartbeat = new HeartbeatPublisher({
      connection: this.connection,
      topology,
      nodeId: config.nodeId,
      version: NODE_VERSION,
      intervalMs: config.heartbeatIntervalMs,
      logger,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.server.start();
    this.heartbeat.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.stop();
    await this.heartbeat.stop();
    await this.connection.close();
    this.store.close();
  }
}
