import type { AmqpConnectionManager, Channel, ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage, Options } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from '../client';
import { createChannel, generationOf, settle } from '../connection';
import type { PublishTarget } from './topology';

/** A message and the channel generation it arrived on (see `settle` in connection.ts). */
export interface Delivery {
  readonly msg: ConsumeMessage;
  readonly generation: number;
}

export interface StreamLinkOptions {
  connection: AmqpConnectionManager;
  logger: Logger;
  name: string;
  /** The queue this end consumes. */
  queue: string;
  prefetch: number;
  /** Declarations to (re-)run on every new channel before consuming. */
  setup: (channel: Channel) => Promise<void>;
  onDelivery: (delivery: Delivery) => void;
  /** A new channel is consuming after a reconnection; deliveries of older generations will
   * come again and must be forgotten. */
  onReconnected: (generation: number) => void;
  /** The channel was closed for good (by `close()` or by closing the connection manager). */
  onClosed: () => void;
}

/**
 * The one confirm channel of a stream sender or receiver: it consumes the end's own queue with
 * manual acknowledgement and publishes to the peer's.
 */
export class StreamLink {
  private readonly channel: ChannelWrapper;
  private readonly setups = new Map<string, Promise<void>>();
  private consumerTag: string | undefined;
  private connects = 0;

  constructor(private readonly options: StreamLinkOptions) {
    this.channel = createChannel(
      options.connection,
      options.logger,
      options.name,
      options.setup,
      options.prefetch,
    );
    this.channel.on('connect', () => {
      if (++this.connects > 1) options.onReconnected(generationOf(this.channel));
    });
    this.channel.on('close', () => options.onClosed());
  }

  /** Waits for the broker (however long it takes), then consumes. */
  async start(): Promise<void> {
    await this.channel.waitForConnect();
    const { consumerTag } = await this.channel.consume(this.options.queue, (msg) =>
      this.options.onDelivery({ msg, generation: generationOf(this.channel) }),
    );
    this.consumerTag = consumerTag;
  }

  /**
   * Adds declarations to run now (when connected) and after every reconnection, once per key
   * (the peer they are for); a failed one is tried again on the next call.
   */
  setupOnce(key: string, setup: (channel: Channel) => Promise<void>): Promise<void> {
    let ready = this.setups.get(key);
    if (!ready) {
      ready = this.channel.addSetup(setup);
      ready.catch(() => this.setups.delete(key));
      this.setups.set(key, ready);
    }
    return ready;
  }

  /**
   * Publishes with a publisher confirm. During an outage amqp-connection-manager keeps the
   * message and publishes it again on the new channel, or rejects it after `timeout`.
   */
  async publish(
    target: PublishTarget,
    content: Buffer,
    options: Options.Publish & { timeout: number },
  ): Promise<void> {
    await this.channel.publish(target.exchange, target.routingKey, content, options);
  }

  /** Acknowledges a delivery on the channel it came on; false when it will come again. */
  ack(delivery: Delivery): boolean {
    return settle(this.channel, delivery.msg, delivery.generation, 'ack');
  }

  /** Stops the consumer; deliveries already received may still be acknowledged. */
  async stopConsuming(): Promise<void> {
    const tag = this.consumerTag;
    this.consumerTag = undefined;
    if (tag === undefined) return;
    await this.channel.cancel(tag).catch((error: unknown) => {
      this.options.logger.debug(
        { reason: errorMessage(error) },
        'could not cancel the stream consumer',
      );
    });
  }

  /** Closes the channel; the broker returns unacknowledged deliveries to the queue. */
  async close(): Promise<void> {
    await this.channel.close();
  }
}
