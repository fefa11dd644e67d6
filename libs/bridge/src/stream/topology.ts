import type { Channel } from 'amqp-connection-manager';
import { REPLY_QUEUE_EXPIRES_MS, type BridgeTopology } from '../topology';

/**
 * One end of a stream: a control-plane instance or a node. Streams always run between the two
 * kinds (a control-plane instance and a node), in either direction.
 */
export type StreamSide =
  { role: 'control-plane'; instanceId: string } | { role: 'node'; nodeId: string };

/** What a message carries: chunks and hellos go to the receiver, credits and outcomes to the
 * sender. */
export type StreamQueueKind = 'data' | 'control';

export interface PublishTarget {
  exchange: string;
  routingKey: string;
}

const NODE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INSTANCE_ID = /^[a-z0-9-]{1,64}$/;

/**
 * Names of the stream queues and routes, beside the request/reply names of `BridgeTopology`
 * and following the same rule: the control plane writes straight into a node's queues, a node
 * writes only to its own exchange `<ns>.node.<id>.out`, which reaches the control plane through
 * `<ns>.inbound`; so the exchange a message arrived through names the node that sent it.
 *
 * | queue                          | holds                              | written by                      |
 * | ------------------------------ | ---------------------------------- | ------------------------------- |
 * | `<ns>.node.<id>.stream-in`     | chunks and hellos for the node     | control plane (default exchange) |
 * | `<ns>.node.<id>.stream-ctl`    | credits and outcomes for the node  | control plane (default exchange) |
 * | `<ns>.cp.<instance>.stream-in` | chunks and hellos for the instance | nodes: `.out`, key `stream-in.<instance>` |
 * | `<ns>.cp.<instance>.stream-ctl`| credits and outcomes for it        | nodes: `.out`, key `stream-ctl.<instance>` |
 *
 * One data and one control queue per endpoint, shared by all its streams: the set of queues is
 * fixed when a node is registered, and a node's broker user needs rights on its own names only.
 */
export class StreamTopology {
  constructor(readonly bridge: BridgeTopology) {}

  nodeDataQueue(nodeId: string): string {
    return `${this.bridge.namespace}.node.${nodeId}.stream-in`;
  }
  nodeControlQueue(nodeId: string): string {
    return `${this.bridge.namespace}.node.${nodeId}.stream-ctl`;
  }
  controlPlaneDataQueue(instanceId: string): string {
    return `${this.bridge.namespace}.cp.${instanceId}.stream-in`;
  }
  controlPlaneControlQueue(instanceId: string): string {
    return `${this.bridge.namespace}.cp.${instanceId}.stream-ctl`;
  }
  /** Routing keys a node publishes stream messages for a control-plane instance with. */
  dataRoute(instanceId: string): string {
    return `stream-in.${instanceId}`;
  }
  controlRoute(instanceId: string): string {
    return `stream-ctl.${instanceId}`;
  }

  /**
   * Quorum (replicated, survive a broker restart) with bounded redelivery, but without the
   * dead-letter exchange of the request queues: a chunk redelivered too often is dropped, not
   * parked as a 1 MiB dead letter, and the sender publishes it again (it keeps every chunk
   * until the receiver acknowledges it).
   */
  queueArguments(): Record<string, unknown> {
    return { 'x-queue-type': 'quorum', 'x-delivery-limit': this.bridge.deliveryLimit };
  }

  /** The queue `side` consumes for `kind`. */
  ownQueue(side: StreamSide, kind: StreamQueueKind): string {
    if (side.role === 'node') {
      return kind === 'data' ? this.nodeDataQueue(side.nodeId) : this.nodeControlQueue(side.nodeId);
    }
    return kind === 'data'
      ? this.controlPlaneDataQueue(side.instanceId)
      : this.controlPlaneControlQueue(side.instanceId);
  }

  /** Where `side` publishes a `kind` message for `peer` (a node id or an instance id). */
  target(side: StreamSide, peer: string, kind: StreamQueueKind): PublishTarget {
    if (side.role === 'control-plane') {
      const queue = kind === 'data' ? this.nodeDataQueue(peer) : this.nodeControlQueue(peer);
      return { exchange: '', routingKey: queue };
    }
    return {
      exchange: this.bridge.nodeExchange(side.nodeId),
      routingKey: kind === 'data' ? this.dataRoute(peer) : this.controlRoute(peer),
    };
  }

  /**
   * Whether a message that `side` consumed was published by `peer`. On the control plane the
   * exchange it came through names the node. A node's queues can be written only by the control
   * plane (broker permissions), which publishes through the default exchange; which instance sent
   * it cannot be told from the message, and every instance is trusted alike.
   */
  cameFrom(side: StreamSide, peer: string, exchange: string): boolean {
    if (side.role === 'node') return exchange === '';
    return this.bridge.nodeIdFromExchange(exchange) === peer;
  }

  /** Checks a peer id for `side`, so that a typo fails at once instead of as a silent stall. */
  checkPeer(side: StreamSide, peer: string): string {
    const valid = side.role === 'node' ? INSTANCE_ID.test(peer) : NODE_ID.test(peer);
    if (!valid) {
      throw new RangeError(
        side.role === 'node'
          ? `"${peer}" is not a control-plane instance id`
          : `"${peer}" is not a node id (a lowercase uuid)`,
      );
    }
    return peer;
  }

  /** A node's two stream queues. Both sides declare them, with identical arguments. */
  async assertNodeStreams(channel: Channel, nodeId: string): Promise<void> {
    for (const queue of [this.nodeDataQueue(nodeId), this.nodeControlQueue(nodeId)]) {
      await channel.assertQueue(queue, { durable: true, arguments: this.queueArguments() });
    }
  }

  /** A control-plane instance's two stream queues and their bindings to the inbound exchange.
   * Like its reply queue, they vanish after an hour unused: instance ids go with pods. */
  async assertControlPlaneStreams(channel: Channel, instanceId: string): Promise<void> {
    await channel.assertExchange(this.bridge.inboundExchange, 'topic', { durable: true });
    const routes: Array<[string, string]> = [
      [this.controlPlaneDataQueue(instanceId), this.dataRoute(instanceId)],
      [this.controlPlaneControlQueue(instanceId), this.controlRoute(instanceId)],
    ];
    for (const [queue, route] of routes) {
      await channel.assertQueue(queue, {
        durable: true,
        arguments: { ...this.queueArguments(), 'x-expires': REPLY_QUEUE_EXPIRES_MS },
      });
      await channel.bindQueue(queue, this.bridge.inboundExchange, route);
    }
  }

  /** What `side` declares for itself before it consumes or publishes. */
  async assertOwn(channel: Channel, side: StreamSide): Promise<void> {
    if (side.role === 'node') {
      // The node publishes to its own exchange: it must exist, or the broker closes the channel.
      await this.bridge.assertNodeOwn(channel, side.nodeId);
      await this.assertNodeStreams(channel, side.nodeId);
    } else {
      await this.assertControlPlaneStreams(channel, side.instanceId);
    }
  }

  /**
   * What `side` declares before it streams with `peer`. The control plane makes sure the node's
   * queues exist (the default exchange drops a message for a missing queue without a word) and
   * that the node's exchange is bound into the inbound exchange. A node relies on the control
   * plane instance that asked for the stream having declared its own queues.
   */
  async assertPeer(channel: Channel, side: StreamSide, peer: string): Promise<void> {
    if (side.role === 'node') return;
    await this.bridge.assertNodeRoute(channel, peer);
    await this.assertNodeStreams(channel, peer);
  }

  /** Removes a node's stream queues (when the node is deleted, and in tests). */
  async deleteNodeStreams(channel: Channel, nodeId: string): Promise<void> {
    await channel.deleteQueue(this.nodeDataQueue(nodeId));
    await channel.deleteQueue(this.nodeControlQueue(nodeId));
  }

  async deleteControlPlaneStreams(channel: Channel, instanceId: string): Promise<void> {
    await channel.deleteQueue(this.controlPlaneDataQueue(instanceId));
    await channel.deleteQueue(this.controlPlaneControlQueue(instanceId));
  }
}
