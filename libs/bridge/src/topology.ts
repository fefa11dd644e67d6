import type { Channel } from 'amqp-connection-manager';
import { COMMAND_RESULTS_ROUTE } from '@causeway/contracts';

/** How many times a request may be delivered before the broker dead-letters it. */
export const DEFAULT_DELIVERY_LIMIT = 5;

/** Routing keys forwarded from a node's exchange to `<ns>.inbound`. */
const INBOUND_ROUTES = [
  'heartbeat',
  'dead-letter',
  COMMAND_RESULTS_ROUTE,
  'stream-in.*',
  'stream-ctl.*',
];

/** A reply queue without consumers for this long is deleted by the broker. */
export const REPLY_QUEUE_EXPIRES_MS = 3_600_000;

/** Routing keys a node may publish with on its own exchange. */
export const ROUTE_HEARTBEAT = 'heartbeat';
export const ROUTE_DEAD_LETTER = 'dead-letter';
export const replyRoute = (instanceId: string): string => `reply.${instanceId}`;

/** Headers that carry why a message was dead-lettered by Causeway itself. */
export const HEADER_REASON = 'x-causeway-reason';
export const HEADER_DETAIL = 'x-causeway-detail';
export const HEADER_NODE = 'x-causeway-node';
export const HEADER_ORIGINAL_QUEUE = 'x-causeway-original-queue';

/**
 * Names of every exchange and queue, under one namespace so that several installations (or
 * test runs) can share a broker without touching each other's messages.
 *
 * Layout: the control plane publishes requests straight into `<ns>.node.<id>.rpc`. A node
 * publishes only to its own exchange `<ns>.node.<id>.out`, which the control plane binds into
 * `<ns>.inbound`; so the exchange a message arrived through names the node that sent it, and
 * (with one broker user per node) a node can neither read nor write another node's traffic.
 */
export class BridgeTopology {
  constructor(
    readonly namespace: string,
    readonly deliveryLimit: number = DEFAULT_DELIVERY_LIMIT,
  ) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(namespace)) {
      throw new Error(`bridge namespace "${namespace}" must be lowercase letters, digits or -`);
    }
  }

  get inboundExchange(): string {
    return `${this.namespace}.inbound`;
  }
  get deadLetterExchange(): string {
    return `${this.namespace}.dead`;
  }
  get deadLetterQueue(): string {
    return `${this.namespace}.dead-letters`;
  }
  /** Results of outbox commands, consumed by any control-plane instance. */
  get commandResultsQueue(): string {
    return `${this.namespace}.command-results`;
  }
  get heartbeatQueue(): string {
    return `${this.namespace}.heartbeats`;
  }
  nodeRpcQueue(nodeId: string): string {
    return `${this.namespace}.node.${nodeId}.rpc`;
  }
  nodeExchange(nodeId: string): string {
    return `${this.namespace}.node.${nodeId}.out`;
  }
  replyQueue(instanceId: string): string {
    return `${this.namespace}.cp.${instanceId}.replies`;
  }

  /** The node id a message came from, read off the exchange it was published to. */
  nodeIdFromExchange(exchange: string): string | undefined {
    const prefix = `${this.namespace}.node.`;
    if (!exchange.startsWith(prefix) || !exchange.endsWith('.out')) return undefined;
    return exchange.slice(prefix.length, -'.out'.length);
  }

  /** Arguments of every work queue: quorum, bounded redelivery, at-least-once dead-lettering. */
  workQueueArguments(): Record<string, unknown> {
    return {
      'x-queue-type': 'quorum',
      'x-delivery-limit': this.deliveryLimit,
      'x-dead-letter-exchange': this.deadLetterExchange,
      'x-dead-letter-strategy': 'at-least-once',
      // at-least-once dead-lettering requires reject-publish overflow.
      'x-overflow': 'reject-publish',
    };
  }

  /** Shared exchanges and queues the control plane owns. Idempotent. */
  async assertShared(channel: Channel): Promise<void> {
    await channel.assertExchange(this.inboundExchange, 'topic', { durable: true });
    await channel.assertExchange(this.deadLetterExchange, 'fanout', { durable: true });
    await channel.assertQueue(this.deadLetterQueue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await channel.bindQueue(this.deadLetterQueue, this.deadLetterExchange, '');
    await channel.bindQueue(this.deadLetterQueue, this.inboundExchange, ROUTE_DEAD_LETTER);
    await channel.assertQueue(this.heartbeatQueue, {
      durable: true,
      arguments: this.workQueueArguments(),
    });
    await channel.bindQueue(this.heartbeatQueue, this.inboundExchange, ROUTE_HEARTBEAT);
    await channel.assertQueue(this.commandResultsQueue, {
      durable: true,
      arguments: this.workQueueArguments(),
    });
    await channel.bindQueue(this.commandResultsQueue, this.inboundExchange, COMMAND_RESULTS_ROUTE);
  }

  /** The reply queue of one control-plane instance. */
  async assertReplyQueue(channel: Channel, instanceId: string): Promise<void> {
    const queue = this.replyQueue(instanceId);
    // Instance ids come and go with pods: an instance's queue vanishes after an hour unused.
    // Replies in it are worthless by then; their requests have long timed out.
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { ...this.workQueueArguments(), 'x-expires': REPLY_QUEUE_EXPIRES_MS },
    });
  }

  /**
   * Binds an instance's reply queue straight to a node's exchange. Replies are the hot path:
   * one exchange hop fewer than through `<ns>.inbound` (measured: ~9% of request/reply
   * throughput, the broker being the bottleneck).
   */
  async bindReplies(channel: Channel, nodeId: string, instanceId: string): Promise<void> {
    await channel.bindQueue(
      this.replyQueue(instanceId),
      this.nodeExchange(nodeId),
      replyRoute(instanceId),
    );
  }

  /** A node's own queue and exchange: declared by the node itself, with identical arguments. */
  async assertNodeOwn(channel: Channel, nodeId: string): Promise<void> {
    await channel.assertQueue(this.nodeRpcQueue(nodeId), {
      durable: true,
      arguments: this.workQueueArguments(),
    });
    await channel.assertExchange(this.nodeExchange(nodeId), 'topic', { durable: true });
  }

  /** What the control plane sets up when it registers a node: the node's own parts and the
   * binding that lets its messages in. */
  async assertNodeRoute(channel: Channel, nodeId: string): Promise<void> {
    await this.assertNodeOwn(channel, nodeId);
    // Everything but replies (bound directly, see bindReplies) goes on to the inbound exchange.
    for (const key of INBOUND_ROUTES)
      await channel.bindExchange(this.inboundExchange, this.nodeExchange(nodeId), key);
  }

  /**
   * Cuts a revoked node's exchange off the control plane: nothing it still manages to publish
   * reaches a control-plane queue. (Its broker user is deleted as well.)
   */
  async unbindNodeRoute(channel: Channel, nodeId: string, instanceId: string): Promise<void> {
    for (const key of INBOUND_ROUTES) {
      await channel.unbindExchange(this.inboundExchange, this.nodeExchange(nodeId), key);
    }
    await channel.unbindQueue(
      this.replyQueue(instanceId),
      this.nodeExchange(nodeId),
      replyRoute(instanceId),
    );
  }

  /** Every queue and exchange this namespace holds for the given nodes and instances. */
  names(
    nodeIds: readonly string[],
    instanceIds: readonly string[],
  ): { queues: string[]; exchanges: string[] } {
    return {
      queues: [
        this.heartbeatQueue,
        this.deadLetterQueue,
        this.commandResultsQueue,
        ...instanceIds.map((i) => this.replyQueue(i)),
        ...nodeIds.map((id) => this.nodeRpcQueue(id)),
        // Stream queues (stream/topology.ts): the names are repeated here to avoid an import cycle.
        ...nodeIds.flatMap((id) => [
          `${this.namespace}.node.${id}.stream-in`,
          `${this.namespace}.node.${id}.stream-ctl`,
        ]),
        ...instanceIds.flatMap((i) => [
          `${this.namespace}.cp.${i}.stream-in`,
          `${this.namespace}.cp.${i}.stream-ctl`,
        ]),
      ],
      exchanges: [
        this.inboundExchange,
        this.deadLetterExchange,
        ...nodeIds.map((id) => this.nodeExchange(id)),
      ],
    };
  }

  /** Removes a node's queue and exchange (used when a node is deleted, and by tests). */
  async deleteNode(channel: Channel, nodeId: string): Promise<void> {
    await channel.deleteQueue(this.nodeRpcQueue(nodeId));
    await channel.deleteExchange(this.nodeExchange(nodeId));
  }
}
