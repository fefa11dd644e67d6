import { hostname } from 'node:os';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { ENVELOPE_VERSION, heartbeatSchema, type Heartbeat } from '@causeway/contracts';
import { errorMessage } from './client';
import { decode, encode } from './codec';
import { createChannel } from './connection';
import { QueueConsumer, type Disposition } from './consumer';
import { BridgeTopology, ROUTE_HEARTBEAT } from './topology';
import { checkSender, type MessageSigner, type NodeKeyLookup } from './trust/reply-signature';

export interface HeartbeatPublisherOptions {
  connection: AmqpConnectionManager;
  topology: BridgeTopology;
  nodeId: string;
  version: string;
  intervalMs: number;
  logger: Logger;
  /** Heartbeats are signed like replies: a broker cannot keep a dead node looking alive. */
  signer: MessageSigner;
  now?: () => number;
}

/** Tells the control plane, every interval, that this node is alive. */
export class HeartbeatPublisher {
  private readonly channel: ChannelWrapper;
  private readonly startedAt: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HeartbeatPublisherOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = new Date(this.now()).toISOString();
    this.channel = createChannel(options.connection, options.logger, 'heartbeat', (channel) =>
      options.topology.assertNodeOwn(channel, options.nodeId),
    );
  }

  start(): void {
    void this.beat('up');
    this.timer = setInterval(() => void this.beat('up'), this.options.intervalMs);
  }

  /** Sends a last `stopping` beat so the control plane shows the node offline at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beat('stopping');
    await this.channel.close();
  }

  private async beat(state: Heartbeat['state']): Promise<void> {
    const heartbeat: Heartbeat = {
      v: ENVELOPE_VERSION,
      type: 'heartbeat',
      nodeId: this.options.nodeId,
      state,
      sentAt: new Date(this.now()).toISOString(),
      startedAt: this.startedAt,
      version: this.options.version,
      hostname: hostname().slice(0, 255),
      intervalMs: this.options.intervalMs,
    };
    try {
      // A beat older than one interval is worthless: let it time out rather than pile up.
      const body = encode(heartbeat);
      await this.channel.publish(
        this.options.topology.nodeExchange(this.options.nodeId),
        ROUTE_HEARTBEAT,
        body,
        {
          contentType: 'application/json',
          headers: this.options.signer.headers(body),
          timeout: this.options.intervalMs,
        },
      );
    } catch (error) {
      this.options.logger.warn({ reason: errorMessage(error), state }, 'heartbeat not delivered');
    }
  }
}

export interface HeartbeatListenerOptions {
  connection: AmqpConnectionManager;
  topology: BridgeTopology;
  logger: Logger;
  nodeKeys: NodeKeyLookup;
  onHeartbeat: (heartbeat: Heartbeat) => Promise<void>;
}

/**
 * Consumes heartbeats for the control plane. A heartbeat whose claimed node id differs from the
 * exchange it came through is refused: a node can only speak for itself.
 */
export class HeartbeatListener {
  private readonly consumer: QueueConsumer;

  constructor(private readonly options: HeartbeatListenerOptions) {
    this.consumer = new QueueConsumer({
      connection: options.connection,
      logger: options.logger,
      name: 'heartbeat-listener',
      queue: options.topology.heartbeatQueue,
      setup: (channel) => options.topology.assertShared(channel),
      prefetch: 64,
      handle: (msg) => this.onMessage(msg),
    });
  }

  async start(): Promise<void> {
    await this.consumer.start();
  }

  async close(): Promise<void> {
    await this.consumer.close();
  }

  private async onMessage(msg: ConsumeMessage): Promise<Disposition> {
    const decoded = decode(msg.content, heartbeatSchema);
    if (!decoded.ok) {
      this.options.logger.warn(
        { reason: decoded.reason, detail: decoded.detail },
        'malformed heartbeat',
      );
      return 'reject';
    }
    const { sender, signature } = await checkSender(
      (exchange) => this.options.topology.nodeIdFromExchange(exchange),
      this.options.nodeKeys,
      msg,
    );
    if (sender !== decoded.value.nodeId) {
      this.options.logger.warn(
        { sender, claimed: decoded.value.nodeId },
        'heartbeat claims another node than the exchange it came through; refused',
      );
      return 'reject';
    }
    if (signature !== 'valid') {
      this.options.logger.warn(
        { nodeId: sender, signature },
        'heartbeat without a valid node signature; refused',
      );
      return 'reject';
    }
    try {
      await this.options.onHeartbeat(decoded.value);
    } catch (error) {
      // The next beat supersedes this one; requeueing would only replay stale state.
      this.options.logger.warn(
        { reason: errorMessage(error), nodeId: sender },
        'heartbeat not recorded',
      );
    }
    return 'ack';
  }
}
