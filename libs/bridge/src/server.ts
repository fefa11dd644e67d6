import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import {
  BRIDGE_METHODS,
  CausewayError,
  ENVELOPE_VERSION,
  HEADER_DELEGATION,
  isBridgeMethod,
  requestEnvelopeSchema,
  wireDetails,
  type BridgeMethod,
  type DelegationClaims,
  type ErrorCode,
  type Principal,
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
import type { DelegationVerifier, RefusalReason } from './trust/delegation';
import type { MessageSigner } from './trust/reply-signature';

export interface HandlerContext {
  requestId: string;
  messageId: string;
  /** Epoch ms after which the caller no longer waits. */
  deadline: number;
  /** Carries the request id, so every line a handler logs can be traced back to the HTTP call. */
  logger: Logger;
  /** Who the request acts for, from its verified delegation; absent for undelegated methods. */
  principal: Principal | undefined;
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

/** A delegation the node refused, for its audit trail. Claims only when the signature verified. */
export interface RefusedDelegation {
  messageId: string;
  requestId: string;
  method: string;
  code: ErrorCode;
  reason: RefusalReason | 'forbidden';
  kid: string | undefined;
  claims: DelegationClaims | undefined;
  /** For a refusal by the node's own rules: who asked. */
  principal?: Principal;
}

/**
 * What makes the node trust a request and the control plane trust the answer: the delegation
 * check, the node's own access rules after it, and the node's signature on what it sends.
 */
export interface ServerTrust {
  verifier: DelegationVerifier;
  signer: MessageSigner;
  /** The node's own rules; throws CausewayError('forbidden') to refuse. */
  authorize(method: BridgeMethod, principal: Principal, payload: unknown): void;
  onRefused(event: RefusedDelegation): void | Promise<void>;
}

export interface BridgeServerOptions {
  connection: AmqpConnectionManager;
  topology: BridgeTopology;
  nodeId: string;
  logger: Logger;
  handlers: HandlerMap;
  trust: ServerTrust;
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
  /** Ids of requests being handled: a second copy arriving meanwhile is a duplicate, dropped. */
  private readonly handling = new Set<string>();
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
      if (this.handling.has(request.id)) {
        // The first copy is still being handled and will answer; running both could apply twice.
        this.logger.warn({ messageId: request.id }, 'duplicate of a request in progress; dropped');
        settle(this.channel, msg, generation, 'ack');
        return;
      }
      this.handling.add(request.id);
      try {
        await this.onValidRequest(msg, generation, request);
      } finally {
        this.handling.delete(request.id);
      }
    } catch (error) {
      // Requeued: the broker delivers the request again (also after a lost channel), and
      // dead-letters it after the delivery limit.
      this.logger.error({ reason: errorMessage(error) }, 'could not complete bridge request');
      settle(this.channel, msg, generation, 'requeue');
    }
  }

  private async onValidRequest(
    msg: ConsumeMessage,
    generation: number,
    request: RequestEnvelope,
  ): Promise<void> {
    // A child logger costs time even when nothing is logged: make it only when needed.
    const log = lazyChild(this.logger, {
      requestId: request.requestId,
      messageId: request.id,
      method: request.method,
    });
    const checked = await this.checkDelegation(msg, request);
    if (!checked.ok) {
      if (checked.answer) await this.publishReply(request, checked.answer);
      settle(this.channel, msg, generation, 'ack');
      return;
    }
    const outcome = await this.outcome(request, log, checked.principal);
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
    await this.publishReply(request, outcome.reply);
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
  }

  /** Publishes a reply, signed by the node, and waits for the broker's confirm. */
  private async publishReply(request: RequestEnvelope, reply: ReplyEnvelope): Promise<void> {
    const body = encode(reply);
    await this.channel.publish(
      this.options.topology.nodeExchange(this.options.nodeId),
      request.replyTo,
      body,
      {
        persistent: true,
        messageId: reply.id,
        correlationId: request.requestId,
        contentType: 'application/json',
        headers: this.options.trust.signer.headers(body),
        timeout: this.options.publishTimeoutMs ?? 10_000,
      },
    );
  }

  /**
   * Verifies the request's delegation. A refusal is audited and answered with its code, except
   * a replay (nobody legitimate waits for it) and a genuine command that already completed and
   * is only late: that one is answered from its completion record.
   */
  private async checkDelegation(
    msg: ConsumeMessage,
    request: RequestEnvelope,
  ): Promise<
    { ok: true; principal: Principal | undefined } | { ok: false; answer?: ReplyEnvelope }
  > {
    const spec = isBridgeMethod(request.method) ? BRIDGE_METHODS[request.method] : undefined;
    // Methods authenticated another way (a CA-signed payload) carry no delegation.
    if (spec && spec.permission === null) return { ok: true, principal: undefined };
    const mutates = spec?.mutates ?? false;
    const verdict = await this.options.trust.verifier.verify(
      msg.properties.headers?.[HEADER_DELEGATION],
      { id: request.id, method: request.method, body: msg.content },
    );
    // A state-changing request seen before is a redelivery or a copy: the completion record
    // (checked next) answers it without running it twice, so it is not refused here.
    if (verdict.ok && (verdict.firstUse || mutates)) {
      return { ok: true, principal: verdict.principal };
    }
    const refusal = verdict.ok
      ? {
          code: 'delegation_refused' as const,
          reason: 'replayed' as const,
          kid: undefined,
          claims: verdict.claims,
        }
      : verdict;
    if (mutates && refusal.reason === 'expired' && this.options.completions) {
      const earlier = await this.options.completions.find(request.id);
      if (earlier) return { ok: false, answer: earlier };
    }
    await this.options.trust.onRefused({
      messageId: request.id,
      requestId: request.requestId,
      method: request.method,
      code: refusal.code,
      reason: refusal.reason,
      kid: refusal.kid,
      claims: refusal.claims,
    });
    this.logger.warn(
      {
        requestId: request.requestId,
        messageId: request.id,
        method: request.method,
        code: refusal.code,
        reason: refusal.reason,
      },
      'delegation refused',
    );
    if (refusal.reason === 'replayed') return { ok: false };
    return {
      ok: false,
      answer: {
        ...this.replyBase(request),
        ok: false,
        error: { code: refusal.code, message: refusalSentence(refusal.reason) },
      },
    };
  }

  private replyBase(request: RequestEnvelope) {
    return {
      v: ENVELOPE_VERSION,
      type: 'reply',
      id: randomUUID(),
      inReplyTo: request.id,
      requestId: request.requestId,
      nodeId: this.options.nodeId,
      sentAt: new Date(this.now()).toISOString(),
    } as const;
  }

  /**
   * The reply to send, 'retry', or 'expired' (not run: its caller gave up). A state-changing request that already completed is answered
   * from the completion record; one that completes now is recorded before its reply is sent,
   * so a crash between the two never applies it twice.
   */
  private async outcome(
    request: RequestEnvelope,
    log: () => Logger,
    principal: Principal | undefined,
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
    const reply = await this.handle(request, log, mutates, principal);
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
    principal: Principal | undefined,
  ): Promise<ReplyEnvelope | 'retry'> {
    const base = this.replyBase(request);
    try {
      const result = await this.dispatch(request, log, principal);
      return { ...base, ok: true, result };
    } catch (error) {
      if (error instanceof CausewayError) {
        log().warn({ code: error.code }, error.message);
        const details = wireDetails(error.details);
        return {
          ...base,
          ok: false,
          error: { code: error.code, message: error.message, ...(details ? { details } : {}) },
        };
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

  private async dispatch(
    request: RequestEnvelope,
    log: () => Logger,
    principal: Principal | undefined,
  ): Promise<unknown> {
    if (!isBridgeMethod(request.method)) {
      throw new CausewayError(
        'unknown_method',
        `The node does not know the operation "${request.method}".`,
      );
    }
    return this.invoke(request.method, request, log, principal);
  }

  private async invoke<M extends BridgeMethod>(
    method: M,
    request: RequestEnvelope,
    log: () => Logger,
    principal: Principal | undefined,
  ): Promise<MethodResult<M>> {
    const handler: Handler<M> | undefined = this.options.handlers[method];
    if (!handler) {
      throw new CausewayError('unknown_method', `This node does not serve "${method}".`);
    }
    const payload = BRIDGE_METHODS[method].payload.safeParse(request.payload);
    if (!payload.success) {
      throw new CausewayError('validation_failed', `The ${method} request payload is not valid.`);
    }
    if (principal) await this.authorize(method, principal, payload.data, request);
    return handler(payload.data as MethodPayload<M>, {
      requestId: request.requestId,
      messageId: request.id,
      deadline: request.deadline,
      principal,
      get logger() {
        return log();
      },
    });
  }

  /** The node's own rules, after the token verified; a refusal is audited like a bad token. */
  private async authorize(
    method: BridgeMethod,
    principal: Principal,
    payload: unknown,
    request: RequestEnvelope,
  ): Promise<void> {
    try {
      this.options.trust.authorize(method, principal, payload);
    } catch (error) {
      if (error instanceof CausewayError && error.code === 'forbidden') {
        await this.options.trust.onRefused({
          messageId: request.id,
          requestId: request.requestId,
          method,
          code: 'forbidden',
          reason: 'forbidden',
          kid: undefined,
          claims: undefined,
          principal,
        });
      }
      throw error;
    }
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

function refusalSentence(reason: RefusalReason): string {
  if (reason === 'expired') {
    return 'The delegation token expired before the node handled the request. Try again.';
  }
  if (reason === 'unknown_key') {
    return 'The request is signed with a key this node does not know (yet); the control plane must send its current keys.';
  }
  return `The node refused the request's delegation token (${reason.replaceAll('_', ' ')}).`;
}

/** A child logger created on first use, then reused. */
function lazyChild(parent: Logger, bindings: Record<string, unknown>): () => Logger {
  let child: Logger | undefined;
  return () => (child ??= parent.child(bindings));
}
