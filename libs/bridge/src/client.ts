import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager, Channel, ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import {
  BRIDGE_METHODS,
  CausewayError,
  ENVELOPE_VERSION,
  isErrorCode,
  replyEnvelopeSchema,
  COMMAND_RESULTS_ROUTE,
  HEADER_DELEGATION,
  type BridgeMethod,
  type Principal,
  type MutatingMethod,
  type MethodPayload,
  type MethodResult,
  type ReplyEnvelope,
  type RequestEnvelope,
} from '@causeway/contracts';
import { decode, encode } from './codec';
import { StreamTopology } from './stream/topology';
import { createChannel, generationOf, settle } from './connection';
import { BridgeTopology, replyRoute } from './topology';
import type { DelegationMinter } from './trust/delegation';
import { checkSender, type NodeKeyLookup } from './trust/reply-signature';

/**
 * What the control plane needs to speak for users on the bridge: it mints a delegation for each
 * request and trusts only replies signed by the node they claim to come from.
 */
export interface ClientTrust {
  minter: DelegationMinter;
  nodeKeys: NodeKeyLookup;
}

export interface BridgeClientOptions {
  connection: AmqpConnectionManager;
  topology: BridgeTopology;
  /** Stable per control-plane instance: it names this instance's durable reply queue. */
  instanceId: string;
  logger: Logger;
  trust: ClientTrust;
  /** Replies processed at once; bounds memory when many replies arrive together. */
  prefetch?: number;
  now?: () => number;
}

export interface RequestOptions {
  requestId: string;
  timeoutMs: number;
  /** Who the request acts for; the node checks it against its own rules. */
  principal: Principal;
}

interface Pending {
  nodeId: string;
  method: BridgeMethod;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The control plane's side of request/reply: publishes a request into a node's queue with a
 * publisher confirm and waits for the reply on this instance's reply queue, or for the deadline.
 * A request never waits longer than its timeout, whatever the broker or the node does.
 */
export class BridgeClient {
  private readonly channel: ChannelWrapper;
  private readonly pending = new Map<string, Pending>();
  /** The setup that keeps each node's route declared across reconnects. */
  private readonly routedNodes = new Map<string, (channel: Channel) => Promise<void>>();
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: BridgeClientOptions) {
    if (!/^[a-z0-9-]{1,64}$/.test(options.instanceId)) {
      throw new Error('bridge instance id must be 1-64 lowercase letters, digits or -');
    }
    this.logger = options.logger.child({ component: 'bridge.client' });
    this.now = options.now ?? Date.now;
    this.channel = createChannel(
      options.connection,
      this.logger,
      'bridge-client',
      async (channel) => {
        await options.topology.assertShared(channel);
        await options.topology.assertReplyQueue(channel, options.instanceId);
      },
      options.prefetch ?? 256,
    );
  }

  async start(): Promise<void> {
    await this.channel.consume(this.options.topology.replyQueue(this.options.instanceId), (msg) => {
      const generation = generationOf(this.channel);
      this.onReply(msg, generation).catch((error: unknown) => {
        // Could not check it (database away): put it back rather than lose a genuine answer.
        this.logger.warn({ reason: errorMessage(error) }, 'reply not processed; requeued');
        settle(this.channel, msg, generation, 'requeue');
      });
    });
  }

  /**
   * Declares a node's queue and exchange and binds the exchange into the inbound exchange, so
   * that the node's replies and heartbeats reach the control plane. Re-run after reconnects.
   */
  async ensureNodeRoute(nodeId: string): Promise<void> {
    if (this.routedNodes.has(nodeId)) return;
    const streams = new StreamTopology(this.options.topology);
    const declare = async (channel: Channel): Promise<void> => {
      await this.options.topology.assertNodeRoute(channel, nodeId);
      // Setups run concurrently: declare the reply queue here too before binding it.
      await this.options.topology.assertReplyQueue(channel, this.options.instanceId);
      await this.options.topology.bindReplies(channel, nodeId, this.options.instanceId);
      await streams.assertNodeStreams(channel, nodeId);
    };
    this.routedNodes.set(nodeId, declare);
    const setup = this.channel.addSetup(declare);
    if (!this.options.connection.isConnected()) {
      // Runs as soon as the broker is back; callers must not hang on an outage.
      setup.catch((error: unknown) =>
        this.logger.warn({ nodeId, reason: errorMessage(error) }, 'node route not declared yet'),
      );
      return;
    }
    try {
      await setup;
    } catch (error) {
      this.routedNodes.delete(nodeId);
      throw error;
    }
  }

  /** Stops routing a (revoked) node's messages to the control plane, now and after reconnects. */
  async removeNodeRoute(nodeId: string): Promise<void> {
    const declare = this.routedNodes.get(nodeId);
    if (!declare) return;
    this.routedNodes.delete(nodeId);
    await this.channel.removeSetup(declare, (channel: Channel) =>
      this.options.topology.unbindNodeRoute(channel, nodeId, this.options.instanceId),
    );
  }

  async request<M extends BridgeMethod>(
    nodeId: string,
    method: M,
    payload: MethodPayload<M>,
    options: RequestOptions,
  ): Promise<MethodResult<M>> {
    // The payload is typed here and validated by the node on receipt; validating it twice
    // would only cost time on the hot path.
    const id = randomUUID();
    const sentAt = this.now();
    const envelope: RequestEnvelope = {
      v: ENVELOPE_VERSION,
      type: 'request',
      id,
      requestId: options.requestId,
      method,
      deadline: sentAt + options.timeoutMs,
      sentAt: new Date(sentAt).toISOString(),
      replyTo: replyRoute(this.options.instanceId),
      payload,
    };
    const context = { requestId: options.requestId, nodeId, method, messageId: id };
    const body = encode(envelope);
    const headers = await this.delegationHeaders(nodeId, options.principal, envelope, body);

    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.logger.warn({ ...context, timeoutMs: options.timeoutMs }, 'bridge request timed out');
        reject(
          new CausewayError(
            'node_unavailable',
            `The node did not answer within ${options.timeoutMs} ms. Try again later.`,
          ),
        );
      }, options.timeoutMs);
      this.pending.set(id, { nodeId, method, resolve, reject, timer });
    });

    this.channel
      .sendToQueue(this.options.topology.nodeRpcQueue(nodeId), body, {
        persistent: true,
        messageId: id,
        correlationId: options.requestId,
        contentType: 'application/json',
        headers,
        timeout: options.timeoutMs,
      })
      .catch((error: unknown) => {
        const waiting = this.pending.get(id);
        if (!waiting) return;
        this.settle(id);
        this.logger.warn(
          { ...context, reason: errorMessage(error) },
          'bridge request could not be published',
        );
        waiting.reject(new CausewayError('bridge_unavailable'));
      });

    return (await reply) as MethodResult<M>;
  }

  /**
   * Publishes a state-changing command (from the outbox) and resolves once the broker
   * confirmed it. Its result comes back on the shared command-results queue, not here.
   */
  async publishCommand(command: {
    messageId: string;
    nodeId: string;
    method: MutatingMethod;
    payload: unknown;
    requestId: string;
    deadline: number;
    timeoutMs: number;
    principal: Principal;
  }): Promise<void> {
    const envelope: RequestEnvelope = {
      v: ENVELOPE_VERSION,
      type: 'request',
      id: command.messageId,
      requestId: command.requestId,
      method: command.method,
      deadline: command.deadline,
      sentAt: new Date(this.now()).toISOString(),
      replyTo: COMMAND_RESULTS_ROUTE,
      payload: command.payload,
    };
    const body = encode(envelope);
    await this.channel.sendToQueue(this.options.topology.nodeRpcQueue(command.nodeId), body, {
      persistent: true,
      messageId: command.messageId,
      correlationId: command.requestId,
      contentType: 'application/json',
      headers: await this.delegationHeaders(command.nodeId, command.principal, envelope, body),
      timeout: command.timeoutMs,
    });
  }

  /**
   * The header that carries a request's delegation, bound to these exact body bytes. Also used
   * to replay a dead-lettered request: its old token has expired by then.
   */
  async delegationHeaders(
    nodeId: string,
    principal: Principal,
    envelope: { id: string; method: string },
    body: Uint8Array,
  ): Promise<Record<string, string>> {
    const token = await this.options.trust.minter.mint({
      nodeId,
      principal,
      messageId: envelope.id,
      method: envelope.method,
      body,
    });
    return { [HEADER_DELEGATION]: token };
  }

  /** Publishes bytes as they are into a queue (replay of a dead letter), confirmed. */
  async publishRaw(
    queue: string,
    body: Buffer,
    properties: { messageId?: string; contentType?: string; headers?: Record<string, unknown> },
    timeoutMs: number,
  ): Promise<void> {
    await this.channel.sendToQueue(queue, body, {
      persistent: true,
      ...properties,
      timeout: timeoutMs,
    });
  }

  /** Fails every waiting request and closes the channel. */
  async close(): Promise<void> {
    for (const [id, waiting] of this.pending) {
      this.settle(id);
      waiting.reject(
        new CausewayError('bridge_unavailable', 'The control plane is shutting down.'),
      );
    }
    await this.channel.close();
  }

  private settle(id: string): void {
    const waiting = this.pending.get(id);
    if (waiting) clearTimeout(waiting.timer);
    this.pending.delete(id);
  }

  private async onReply(msg: ConsumeMessage, generation: number): Promise<void> {
    const { sender, signature } = await checkSender(
      (exchange) => this.options.topology.nodeIdFromExchange(exchange),
      this.options.trust.nodeKeys,
      msg,
    );
    if (signature !== 'valid') {
      // Not signed by the node it came through: a forgery (or a revoked node). Never trusted.
      this.logger.warn(
        { sender, signature, messageId: msg.properties.messageId as unknown },
        'reply without a valid node signature; ignored',
      );
      settle(this.channel, msg, generation, 'ack');
      return;
    }
    const decoded = decode(msg.content, replyEnvelopeSchema);
    if (!decoded.ok) {
      this.logger.warn({ reason: decoded.reason, detail: decoded.detail }, 'malformed reply');
      // Rejected without requeue: the reply queue dead-letters it with the broker's reason.
      settle(this.channel, msg, generation, 'reject');
      return;
    }
    const reply: ReplyEnvelope = decoded.value;
    const waiting = this.pending.get(reply.inReplyTo);
    if (!waiting) {
      this.logger.debug(
        { requestId: reply.requestId, inReplyTo: reply.inReplyTo },
        'reply for a request that is no longer waiting (timed out or answered); ignored',
      );
      settle(this.channel, msg, generation, 'ack');
      return;
    }
    if (sender !== waiting.nodeId || reply.nodeId !== waiting.nodeId) {
      this.logger.warn(
        { requestId: reply.requestId, expected: waiting.nodeId, sender, claimed: reply.nodeId },
        'reply did not come from the node the request was sent to; ignored',
      );
      settle(this.channel, msg, generation, 'ack');
      return;
    }
    this.settle(reply.inReplyTo);
    settle(this.channel, msg, generation, 'ack');
    if (!reply.ok) {
      const code = isErrorCode(reply.error.code) ? reply.error.code : 'internal_error';
      waiting.reject(new CausewayError(code, reply.error.message, reply.error.details));
      return;
    }
    const result = BRIDGE_METHODS[waiting.method].result.safeParse(reply.result);
    if (!result.success) {
      this.logger.error(
        { requestId: reply.requestId, method: waiting.method },
        'node answered with a result that does not match the method schema',
      );
      waiting.reject(
        new CausewayError('internal_error', 'The node answered with an invalid result.'),
      );
      return;
    }
    waiting.resolve(result.data);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
