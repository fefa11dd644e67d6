import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from 'pino';
import { BridgeTopology, StreamReceiver, StreamSender } from '@causeway/bridge';
import { AMQP_CONNECTION } from '../bridge/bridge.module';
import { CONFIG, type ControlPlaneConfig } from '../config/config';
import { ROOT_LOGGER } from '../logging';

/**
 * This instance's two bridge stream endpoints: a sender for upload parts going to nodes and a
 * receiver for downloads coming from them. Started with the app, closed before any
 * `onApplicationShutdown` hook runs, so before the bridge connection closes.
 */
@Injectable()
export class FileStreams implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly sender: StreamSender;
  readonly receiver: StreamReceiver;
  readonly instanceId: string;

  constructor(
    @Inject(CONFIG) config: ControlPlaneConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Inject(AMQP_CONNECTION) connection: AmqpConnectionManager,
    topology: BridgeTopology,
  ) {
    const side = { role: 'control-plane' as const, instanceId: config.instanceId };
    this.instanceId = config.instanceId;
    this.sender = new StreamSender({ connection, topology, side, logger });
    this.receiver = new StreamReceiver({ connection, topology, side, logger });
  }

  /**
   * Not awaited: the endpoints attach to the broker whenever it is reachable, and the control
   * plane must start (and answer /readyz with 503) while it is not. Until then transfers wait,
   * bounded by the stream idle timeout, like every other bridge use.
   */
  onApplicationBootstrap(): void {
    Promise.all([this.sender.start(), this.receiver.start()]).catch((err: unknown) =>
      this.logger.error({ err }, 'file stream endpoints did not start'),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.receiver.close(), this.sender.close()]);
  }
}
