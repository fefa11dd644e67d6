import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';

/*
 * The baseline: request/reply written directly on amqplib, with the same durability guarantees
 * the bridge gives, and no less, so that the ratio measures what the library adds, not a
 * weaker delivery contract:
 *  - both queues are durable quorum queues (the bridge's work queues are quorum queues too);
 *  - requests and replies are persistent and published on confirm channels, and a publish
 *    counts only once the broker has confirmed it (the bridge's channels are confirm channels
 *    and it awaits every publish's confirm);
 *  - the server consumes with manual ack and a prefetch equal to the client's concurrency, and
 *    acknowledges a request only after its reply is confirmed, so a crash at any point leaves
 *    the request queued (what BridgeServer does);
 *  - the client acknowledges replies manually and correlates them by correlationId, with a
 *    deadline per request (what BridgeClient does).
 * Each reply is confirmed on its own (a per-publish confirm callback, not a channel-wide
 * waitForConfirms that would wait for other requests' replies too), which is how the bridge's
 * channel wrapper confirms. Bodies are JSON of the same shape as the bridge's ping payload and
 * result, so both sides pay for serialising the application data. What the baseline leaves out
 * is what the library adds on top: the versioned envelope, schema validation, per-request
 * loggers, routing replies through the node's own exchange, the queues' delivery-limit and
 * dead-lettering arguments, and amqp-connection-manager. See docs/bench.md.
 */

export interface PlainQueues {
  requestQueue: string;
  replyQueue: string;
}

const QUORUM = { durable: true, arguments: { 'x-queue-type': 'quorum' } };

export async function declarePlainQueues(
  channel: ConfirmChannel,
  queues: PlainQueues,
): Promise<void> {
  await channel.assertQueue(queues.requestQueue, QUORUM);
  await channel.assertQueue(queues.replyQueue, QUORUM);
}

/** An unhandled channel 'error' would crash the process: report it; requests then time out. */
function reportChannelError(who: string): (error: Error) => void {
  return (error) => void process.stderr.write(`${who} channel error: ${error.message}\n`);
}

interface Waiting {
  resolve: (body: Buffer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** The caller's side: publishes a request (confirmed) and waits for the reply or the deadline. */
export class PlainRpcClient {
  private channel: ConfirmChannel | undefined;
  private readonly pending = new Map<string, Waiting>();

  constructor(
    private readonly connection: ChannelModel,
    private readonly queues: PlainQueues,
    private readonly prefetch: number,
  ) {}

  async start(): Promise<void> {
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', reportChannelError('plain client'));
    this.channel = channel;
    await declarePlainQueues(channel, this.queues);
    await channel.prefetch(this.prefetch);
    await channel.consume(this.queues.replyQueue, (msg) => this.onReply(channel, msg), {
      noAck: false,
    });
  }

  request(body: Buffer, timeoutMs: number): Promise<Buffer> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new Error('plain client not started'));
    const id = randomUUID();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      channel.sendToQueue(
        this.queues.requestQueue,
        body,
        {
          persistent: true,
          correlationId: id,
          replyTo: this.queues.replyQueue,
          contentType: 'application/json',
        },
        (error: unknown) => {
          if (!error) return;
          const waiting = this.pending.get(id);
          if (!waiting) return;
          clearTimeout(waiting.timer);
          this.pending.delete(id);
          waiting.reject(new Error('request not confirmed by the broker'));
        },
      );
    });
  }

  async close(): Promise<void> {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      this.pending.delete(id);
      waiting.reject(new Error('plain client closed'));
    }
    await this.channel?.close();
  }

  private onReply(channel: ConfirmChannel, msg: ConsumeMessage | null): void {
    if (!msg) return; // the broker cancelled the consumer (queue deleted)
    channel.ack(msg);
    const id: unknown = msg.properties.correlationId;
    const waiting = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.pending.delete(id as string);
    waiting.resolve(msg.content);
  }
}

/** The answering side: handles a request, publishes the reply (confirmed), then acks. */
export class PlainRpcServer {
  private channel: ConfirmChannel | undefined;
  private consumerTag: string | undefined;

  constructor(
    private readonly connection: ChannelModel,
    private readonly queues: PlainQueues,
    private readonly prefetch: number,
    private readonly handle: (body: Buffer) => Buffer,
  ) {}

  async start(): Promise<void> {
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', reportChannelError('plain server'));
    this.channel = channel;
    await declarePlainQueues(channel, this.queues);
    await channel.prefetch(this.prefetch);
    const reply = await channel.consume(
      this.queues.requestQueue,
      (msg) => this.onRequest(channel, msg),
      { noAck: false },
    );
    this.consumerTag = reply.consumerTag;
  }

  async stop(): Promise<void> {
    if (this.consumerTag) await this.channel?.cancel(this.consumerTag);
    await this.channel?.close();
  }

  private onRequest(channel: ConfirmChannel, msg: ConsumeMessage | null): void {
    if (!msg) return;
    const replyTo: unknown = msg.properties.replyTo;
    if (typeof replyTo !== 'string') {
      channel.nack(msg, false, false);
      return;
    }
    let body: Buffer;
    try {
      body = this.handle(msg.content);
    } catch {
      channel.nack(msg, false, false);
      return;
    }
    channel.sendToQueue(
      replyTo,
      body,
      {
        persistent: true,
        correlationId: msg.properties.correlationId as string,
        contentType: 'application/json',
      },
      (error: unknown) => {
        // Acknowledged only once the reply is safely with the broker; otherwise redelivered.
        if (error) channel.nack(msg, false, true);
        else channel.ack(msg);
      },
    );
  }
}
