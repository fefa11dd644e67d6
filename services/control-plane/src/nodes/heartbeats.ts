import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from 'pino';
import { BridgeTopology, HeartbeatListener } from '@causeway/bridge';
import { AMQP_CONNECTION } from '../bridge/bridge.module';
import { ROOT_LOGGER } from '../logging';
import { NodeKeys } from '../trust/node-keys';
import { NodesService } from './nodes.service';

/** Feeds node heartbeats from the bridge into the nodes table. */
@Injectable()
export class NodeHeartbeats implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly listener: HeartbeatListener;

  constructor(
    nodes: NodesService,
    topology: BridgeTopology,
    @Inject(AMQP_CONNECTION) connection: AmqpConnectionManager,
    @Inject(ROOT_LOGGER) logger: Logger,
    nodeKeys: NodeKeys,
  ) {
    this.listener = new HeartbeatListener({
      connection,
      topology,
      logger: logger.child({ component: 'heartbeats' }),
      nodeKeys: (nodeId, kid) => nodeKeys.lookup(nodeId, kid),
      onHeartbeat: (beat) => nodes.recordHeartbeat(beat),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener.close();
  }
}
