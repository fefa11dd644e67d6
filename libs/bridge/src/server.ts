import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import {
  BRIDGE_METHODS,
  CausewayError,
  ENVELOPE_VERSION,
  isBridgeMethod,
  requestEnvelopeSchema,
  type BridgeMethod,
  type MethodPayload,
  type MethodResult,
  type ReplyEnvelope,
  type RequestEnvelope,
} from '@causeway/contracts';
import { errorMessage } from './client';
import { decode, encode } from './codec';
import { createChannel, generationOf, settle } from './connection';
import {
  BridgeTopology,
  HEADER_DETAIL,
  HEADER_NODE,
  HEADER_ORIGINAL_QUEUE,
  HEADER_REASON,
  ROUTE_DEAD_LETTER,
} from './topology';

export interface HandlerContext {
  requestId: string;
  messageId: string;
  /** Epoch ms after which the caller no longer waits. */
  deadline: number;
  /** Carries the request id, so every line a handler logs can be traced back to the HTTP call. */
  logger: Logger;
}

export type Handler<M extends BridgeMethod> = (
  payload: MethodPayload<M>,
  context: HandlerContext,
) => Promise<MethodResult<M>>;

export type HandlerMap = { [M in BridgeMethod]?: Handler<M> };

/**
 * Where a node keeps the replies of completed state-changing requests, by message id. It must
 * be durable (the node's own database): a redelivery after a crash is answered from it.
 */
export interface CompletionStore {
  find(messageId: string): ReplyEnvelope | undefined | Promise<ReplyEnvelope | undefined>;
  record(messageId: string, method: string, reply: ReplyEnvelope): void | Promise<void>;
}

/** Fault injection points, used by resilience tests to crash the node at a precise moment. */
export interface BridgeFaults {
  /** Called right after a completion was recorded, before its reply is published and acked. */
  afterRecord?(method: string): void;
}

export interface BridgeServerOptions {
  connection: AmqpConnectionManager;
  topology: BridgeTopology;
  nodeId: string;
  logger: Logger;
  handlers: HandlerMap;
  /** Requests handled at once; bounds the node's memory whatever the queue depth. */
  prefetch: number;
  /** Required for nodes that serve state-changing methods. */
  completions?: CompletionStore;
  faults?: BridgeFaults;
  /** How long to wait for a publisher confirm of a reply or dead letter. */
  publishTimeoutMs?: number;
  now?: () => number;
}

/**
 * The node's side of request/reply. It consumes only its own queue, validates every envelope,
 * runs the handler, publishes the reply (confirmed) and only then acknowledges the request, so
 * a crash at any point leaves the request in the queue to be delivered again.
 */
export class BridgeServer {
  private readonly channel: ChannelWrapper;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly inFlight = new Set<Promise<void>>();
  private consumerTag: string | undefined;

  constructor(private readonly options: BridgeServerOptions) {
    this.logger = options.logger.child({ component: 'bridge.server' });
    this.now = options.now ?? Date.now;
    this.channel = createChannel(
      options.connection,
      this.logger,
      'bridge-server',
      (channel) => options.topology.assertNodeOwn(channel, options.nodeId),
      options.prefetch,
    );
  }

  async start(): Promise<void> {
    const reply = await this.channel.consume(
      this.options.topology.nodeRpcQueue(this.options.nodeId),
      (msg) => this.track(this.onRequest(msg, generationOf(this.channel))),
    );
    this.consumerTag = reply.consumerTag;
  }

  /** Stops taking new requests and lets the ones in progress finish. */
  async stop(): Promise<void> {
    if (this.consumerTag) await this.channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await this.channel.close();
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async onRequest(msg: ConsumeMessage, generation: number): Promise<void> {
    try {
      const decoded = decode(msg.content, requestEnvelopeSchema);
      if (!decoded.ok) {
        await this.deadLetter(msg, generation, decoded.reason, decoded.detail);
        return;
      }
      const request = decoded.value;
      // A child logger costs time even when nothing is logged: make it only when needed.
      const log = lazyChild(this.logger, {
        requestId: request.requestId,
        messageId: request.id,
        method: request.method,
      });
      const outcome = await this.outcome(request, log);
      if (outcome === 'expired') {
        // The caller was already told the node did not answer; running it now would surprise it.
        log().info(
          { redelivered: msg.fields.redelivered },
          'request expired before it was handled; dropped',
        );
        settle(this.channel, msg, generation, 'ack');
        return;
      }
      if (outcome === 'retry') {
        // Requeued: the broker delivers it again and dead-letters it after the delivery limit.
        settle(this.channel, msg, generation, 'requeue');
        return;
      }
      await this.channel.publish(
        this.options.topology.nodeExchange(this.options.nodeId),
        request.replyTo,
        encode(outcome.reply),
        {
          persistent: true,
          messageId: outcome.reply.id,
          correlationId: request.requestId,
          contentType: 'application/json',
          timeout: this.options.publishTimeoutMs ?? 10_000,
        },
      );
      settle(this.channel, msg, generation, 'ack');
      this.logger.info(
        {
          requestId: request.requestId,
          messageId: request.id,
          method: request.method,
          ok: outcome.reply.ok,
          replayed: outcome.replayed,
        },
        outcome.replayed
          ? 'bridge request answered from the completion record'
          : 'bridge request answered',
      );
    } catch (error) {
      // Requeued: the broker delivers the request again (also after a lost channel), and
      // dead-letters it after the delivery limit.
      this.logger.error({ reason: errorMessage(error) }, 'could not complete bridge request');
      settle(this.channel, msg, generation, 'requeue');
    }
  }

  /**
   * The reply to send, 'retry', or 'expired' (not run: its caller gave up). A state-changing request that already completed is answered
   * from the completion record; one that completes now is recorded before its reply is sent,
   * so a crash between the two never applies it twice.
   */
  private async outcome(
    request: RequestEnvelope,
    log: () => Logger,
  ): Promise<{ reply: ReplyEnvelope; replayed: boolean } | 'retry' | 'expired'> {
    const mutates = isBridgeMethod(request.method) && BRIDGE_METHODS[request.method].mutates;
    const completions = this.options.completions;
    if (mutates && completions) {
      // Checked before the deadline: a command applied before a crash is reported as done,
      // however late its redelivery comes.
      const earlier = await completions.find(request.id);
      if (earlier) return { reply: earlier, replayed: true };
    }
    if (request.deadline < this.now()) return 'expired';
    const reply = await this.handle(request, log, mutates);
    if (reply === 'retry') return reply;
    if (mutates && completions) {
      await completions.record(request.id, request.method, reply);
      this.options.faults?.afterRecord?.(request.method);
    }
    return { reply, replayed: false };
  }

  private async handle(
    request: RequestEnvelope,
    log: () => Logger,
    mutates: boolean,
  ): Promise<ReplyEnvelope | 'retry'> {
    const base = {
      v: ENVELOPE_VERSION,
      type: 'reply',
      id: randomUUID(),
      inReplyTo: request.id,
      requestId: request.requestId,
      nodeId: this.options.nodeId,
      sentAt: new Date(this.now()).toISOString(),
    } as const;
    try {
      const result = await this.dispatch(request, log);
      return { ...base, ok: true, result };
    } catch (error) {
      if (error instanceof CausewayError) {
        log().warn({ code: error.code }, error.message);
        return { ...base, ok: false, error: { code: error.code, message: error.message } };
      }
      const errorId = randomUUID();
      log().error(
        { errorId, reason: errorMessage(error), retry: mutates },
        'bridge handler failed',
      );
      // An unexpected failure of a state-changing request may be transient (disk, storage):
      // try again rather than tell the caller it failed for good.
      if (mutates) return 'retry';
      return {
        ...base,
        ok: false,
        error: {
          code: 'internal_error',
          message: `The node could not complete the request (error id ${errorId}).`,
        },
      };
    }
  }

  private async dispatch(request: RequestEnvelope, log: () => Logger): Promise<unknown> {
    if (!isBridgeMethod(request.method)) {
      throw new CausewayError(
        'unknown_method',
        `The node does not know the operation "${request.method}".`,
      );
    }
    return this.invoke(request.method, request, log);
  }

  private async invoke<M extends BridgeMethod>(
    method: M,
    request: RequestEnvelope,
    log: () => Logger,
  ): Promise<MethodResult<M>> {
    const handler: Handler<M> | undefined = this.options.handlers[method];
    if (!handler) {
      throw new CausewayError('unknown_method', `This node does not serve "${method}".`);
    }
    const payload = BRIDGE_METHODS[method].payload.safeParse(request.payload);
    if (!payload.success) {
      throw new CausewayError('validation_failed', `The ${method} request payload is not valid.`);
    }
    return handler(payload.data as MethodPayload<M>, {
      requestId: request.requestId,
      messageId: request.id,
      deadline: request.deadline,
      get logger() {
        return log();
      },
    });
  }

  /**
   * Moves a message the node cannot read to the dead-letter queue with the reason attached,
   * then acknowledges it, so one bad message never blocks or crashes the consumer.
   */
  private async deadLetter(
    msg: ConsumeMessage,
    generation: number,
    reason: string,
    detail: string,
  ): Promise<void> {
    this.logger.warn(
      { reason, detail, messageId: msg.properties.messageId as unknown },
      'dead-lettering a malformed message',
    );
    try {
      await this.channel.publish(
        this.options.topology.nodeExchange(this.options.nodeId),
        ROUTE_DEAD_LETTER,
        msg.content,
        {
          persistent: true,
          messageId:
            typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined,
          contentType:
            typeof msg.properties.contentType === 'string' ? msg.properties.contentType : undefined,
          headers: {
            [HEADER_REASON]: reason,
            [HEADER_DETAIL]: detail,
            [HEADER_NODE]: this.options.nodeId,
            [HEADER_ORIGINAL_QUEUE]: this.options.topology.nodeRpcQueue(this.options.nodeId),
          },
          timeout: this.options.publishTimeoutMs ?? 10_000,
        },
      );
      settle(this.channel, msg, generation, 'ack');
    } catch (error) {
      // Could not record the reason: fall back to the broker's own dead-lettering.
      this.logger.warn(
        { reason: errorMessage(error) },
        'dead letter not confirmed; rejecting instead',
      );
      settle(this.channel, msg, generation, 'reject');
    }
  }
}

/** A child logger created on first use, then reused. */
function lazyChild(parent: Logger, bindings: Record<string, unknown>): () => Logger {
  let child: Logger | undefined;
  return () => (child ??= parent.child(bindings));
}
