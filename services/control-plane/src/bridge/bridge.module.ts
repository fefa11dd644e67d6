import {
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from 'pino';
import {
  BridgeClient,
  BridgeTopology,
  DelegationMinter,
  createBridgeConnection,
} from '@causeway/bridge';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { ROOT_LOGGER } from '../logging';
import { NodeKeys } from '../trust/node-keys';
import { SigningKeysService } from '../trust/signing-keys.service';
import { NodeRpc } from './node-rpc';

export const AMQP_CONNECTION = Symbol('AmqpConnection');

/** Starts consuming replies once the app is up; closes the bridge last on shutdown. */
@Injectable()
class BridgeLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly client: BridgeClient,
    @Inject(AMQP_CONNECTION) private readonly connection: AmqpConnectionManager,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Registers the consumer; it attaches whenever the broker is (or becomes) reachable.
    await this.client.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
    await this.connection.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: AMQP_CONNECTION,
      inject: [CONFIG, ROOT_LOGGER],
      useFactory: (config: ControlPlaneConfig, logger: Logger) =>
        createBridgeConnection({
          url: config.amqpUrl,
          connectionName: `causeway-control-plane:${config.instanceId}`,
          logger,
        }),
    },
    {
      provide: BridgeTopology,
      inject: [CONFIG],
      useFactory: (config: ControlPlaneConfig) => new BridgeTopology(config.bridgeNamespace),
    },
    {
      provide: BridgeClient,
      inject: [CONFIG, ROOT_LOGGER, AMQP_CONNECTION, BridgeTopology, SigningKeysService, NodeKeys],
      useFactory: (
        config: ControlPlaneConfig,
        logger: Logger,
        connection: AmqpConnectionManager,
        topology: BridgeTopology,
        keys: SigningKeysService,
        nodeKeys: NodeKeys,
      ) =>
        new BridgeClient({
          connection,
          topology,
          instanceId: config.instanceId,
          logger,
          trust: {
            minter: new DelegationMinter({
              issuer: keys.issuer,
              ttlSeconds: config.delegationTtlSeconds,
              activeKey: () => keys.activeKey(),
            }),
            nodeKeys: (nodeId, kid) => nodeKeys.lookup(nodeId, kid),
          },
        }),
    },
    BridgeLifecycle,
    NodeRpc,
  ],
  exports: [AMQP_CONNECTION, BridgeTopology, BridgeClient, NodeRpc],
})
export class BridgeModule {}
