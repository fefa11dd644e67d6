import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Repository } from 'typeorm';
import {
  BridgeTopology,
  HEADER_DETAIL,
  HEADER_NODE,
  HEADER_ORIGINAL_QUEUE,
  HEADER_REASON,
  QueueConsumer,
  type Disposition,
} from '@causeway/bridge';
import { AMQP_CONNECTION } from '../bridge/bridge.module';
import { Clock } from '../common/clock';
import { ROOT_LOGGER } from '../logging';
import { DeadLetterEntity } from './dead-letter.entity';
import { AuditService } from '../audit/audit.service';

/** What RabbitMQ says in `x-death` about a message it dead-lettered. */
interface XDeath {
  reason?: unknown;
  queue?: unknown;
  count?: unknown;
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * Moves every dead letter from the broker into PostgreSQL, with its reason, source and attempt
 * count, so operators can list, inspect and replay them. Acknowledged only after the row is
 * stored: nothing is dropped silently.
 */
@Injectable()
export class DeadLetterRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly consumer: QueueConsumer;
  private readonly logger: Logger;

  constructor(
    @InjectRepository(DeadLetterEntity) private readonly deadLetters: Repository<DeadLetterEntity>,
    private readonly topology: BridgeTopology,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Inject(AMQP_CONNECTION) connection: AmqpConnectionManager,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'dead-letters' });
    this.consumer = new QueueConsumer({
      connection,
      logger: this.logger,
      name: 'dead-letters',
      queue: topology.deadLetterQueue,
      setup: (channel) => topology.assertShared(channel),
      prefetch: 16,
      handle: (msg) => this.record(msg),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer.close();
  }

  private async record(msg: ConsumeMessage): Promise<Disposition> {
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const deaths = Array.isArray(headers['x-death']) ? (headers['x-death'] as XDeath[]) : [];
    const firstDeath = deaths.at(-1);
    const ownReason = text(headers[HEADER_REASON]);
    const brokerReason = text(headers['x-first-death-reason']) ?? text(firstDeath?.reason);
    const reason = ownReason ?? brokerReason ?? 'unknown';
    const sourceQueue =
      text(headers[HEADER_ORIGINAL_QUEUE]) ??
      text(headers['x-first-death-queue']) ??
      text(firstDeath?.queue) ??
      null;
    const nodeId =
      text(headers[HEADER_NODE]) ??
      (sourceQueue ? this.nodeIdOfQueue(sourceQueue) : undefined) ??
      null;
    // RabbitMQ 3.10 does not say how often a message was delivered; past the delivery limit it
    // was delivered the limit plus one times.
    const attempts =
      reason === 'delivery_limit'
        ? this.topology.deliveryLimit + 1
        : (num(firstDeath?.count) ?? null);
    const detail =
      text(headers[HEADER_DETAIL]) ??
      (reason === 'delivery_limit'
        ? `Delivered ${attempts ?? 'too many'} times without being completed; the broker gave up on it.`
        : `Dead-lettered by the broker (${reason}).`);
    const id = randomUUID();
    await this.deadLetters.save(
      this.deadLetters.create({
        id,
        receivedAt: this.clock.now(),
        reason,
        detail,
        nodeId,
        sourceQueue,
        messageId: text(msg.properties.messageId) ?? null,
        attempts,
        contentType: text(msg.properties.contentType) ?? null,
        headers: JSON.parse(JSON.stringify(headers)) as Record<string, unknown>,
        body: msg.content,
        replayedAt: null,
        replayCount: 0,
      }),
    );
    this.logger.warn({ deadLetterId: id, reason, nodeId, sourceQueue }, 'dead letter recorded');
    await this.audit.record({
      tenantId: null,
      type: 'admin.dead_letter.received',
      outcome: 'failure',
      actor: null,
      reason,
      details: { deadLetterId: id, nodeId, queue: sourceQueue, reason },
    });
    return 'ack';
  }

  private nodeIdOfQueue(queue: string): string | undefined {
    const prefix = `${this.topology.namespace}.node.`;
    if (!queue.startsWith(prefix) || !queue.endsWith('.rpc')) return undefined;
    const id = queue.slice(prefix.length, -'.rpc'.length);
    return /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
  }
}
