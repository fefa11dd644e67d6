import type { AmqpConnectionManager, Channel, ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from './client';
import { createChannel, generationOf, settle } from './connection';

/** What to do with a message once its handler has finished. */
export type Disposition = 'ack' | 'requeue' | 'reject';

export interface QueueConsumerOptions {
  connection: AmqpConnectionManager;
  logger: Logger;
  name: string;
  queue: string;
  /** Declares what the queue needs; re-run on every reconnect. */
  setup: (channel: Channel) => Promise<void>;
  prefetch: number;
  /** Settles the message only after this resolves: a crash before that means redelivery. */
  handle: (msg: ConsumeMessage) => Promise<Disposition>;
}

/**
 * Consumes one queue with manual acknowledgement after the handler finished. A handler that
 * throws gets its message requeued (the queue's delivery limit dead-letters it if it keeps
 * failing); the consumer itself never dies of a bad message.
 */
export class QueueConsumer {
  private readonly channel: ChannelWrapper;

  constructor(private readonly options: QueueConsumerOptions) {
    this.channel = createChannel(
      options.connection,
      options.logger,
      options.name,
      options.setup,
      options.prefetch,
    );
  }

  async start(): Promise<void> {
    await this.channel.consume(
      this.options.queue,
      (msg) => void this.onMessage(msg, generationOf(this.channel)),
    );
  }

  async close(): Promise<void> {
    await this.channel.close();
  }

  private async onMessage(msg: ConsumeMessage, generation: number): Promise<void> {
    let disposition: Disposition;
    try {
      disposition = await this.options.handle(msg);
    } catch (error) {
      this.options.logger.error(
        { consumer: this.options.name, reason: errorMessage(error) },
        'message handler failed; requeued',
      );
      disposition = 'requeue';
    }
    settle(this.channel, msg, generation, disposition);
  }
}
