import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import {
  BridgeTopology,
  QueueConsumer,
  checkSender,
  decode,
  errorMessage,
  type Disposition,
} from '@causeway/bridge';
import { ENVELOPE_VERSION, replyEnvelopeSchema, type ReplyEnvelope } from '@causeway/contracts';
import { AMQP_CONNECTION } from '../bridge/bridge.module';
import { Clock } from '../common/clock';
import { NodeRpc } from '../bridge/node-rpc';
import { ROOT_LOGGER } from '../logging';
import { NodeKeys } from '../trust/node-keys';
import { OutboxEntity } from './outbox.entity';
import { OutboxService } from './outbox.service';
import { AuditService } from '../audit/audit.service';

/**
 * Refusals that say "send it again with a fresh token": the command reached the node late, or
 * before the node learnt the current signing key. They do not complete the command.
 */
const RESEND_CODES: ReadonlySet<string> = new Set(['delegation_expired', 'delegation_key_unknown']);

/** Applies a command's result to the domain, inside the transaction that completes the command. */
export type CommandResultHandler = (
  manager: EntityManager,
  command: OutboxEntity,
  reply: ReplyEnvelope,
) => Promise<void>;

/**
 * Consumes results of outbox commands (a queue shared by every control-plane instance),
 * completes the outbox row and hands the result to the capability that sent the command, all
 * in one transaction, acknowledged only after it committed.
 */
@Injectable()
export class CommandResults implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly handlers = new Map<string, CommandResultHandler>();
  private readonly consumer: QueueConsumer;
  private readonly logger: Logger;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly topology: BridgeTopology,
    private readonly clock: Clock,
    @Inject(AMQP_CONNECTION) connection: AmqpConnectionManager,
    @Inject(ROOT_LOGGER) logger: Logger,
    private readonly nodeKeys: NodeKeys,
    private readonly rpc: NodeRpc,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
  ) {
    this.logger = logger.child({ component: 'command-results' });
    this.consumer = new QueueConsumer({
      connection,
      logger: this.logger,
      name: 'command-results',
      queue: topology.commandResultsQueue,
      setup: (channel) => topology.assertShared(channel),
      prefetch: 32,
      handle: (msg) => this.onResult(msg),
    });
  }

  register(method: string, handler: CommandResultHandler): void {
    this.handlers.set(method, handler);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer.close();
  }

  private async onResult(msg: ConsumeMessage): Promise<Disposition> {
    const decoded = decode(msg.content, replyEnvelopeSchema);
    if (!decoded.ok) {
      this.logger.warn(
        { reason: decoded.reason, detail: decoded.detail },
        'malformed command result',
      );
      return 'reject';
    }
    const reply = decoded.value;
    const { sender, signature } = await checkSender(
      (exchange) => this.topology.nodeIdFromExchange(exchange),
      (nodeId, kid) => this.nodeKeys.lookup(nodeId, kid),
      msg,
    );
    if (signature !== 'valid') {
      this.logger.warn(
        { sender, signature, commandId: reply.inReplyTo },
        'command result without a valid node signature; refused',
      );
      return 'reject';
    }
    if (!reply.ok && RESEND_CODES.has(reply.error.code)) {
      await this.resend(reply);
      return 'ack';
    }
    return this.dataSource.transaction(async (manager) => {
      const command = await manager.findOne(OutboxEntity, {
        where: { id: reply.inReplyTo },
        lock: { mode: 'pessimistic_write' },
      });
      // A success that arrives after the command was given up on (a node back after its
      // deadline, answering from its completion record) still counts: the effect happened.
      const lateSuccess =
        command?.completedAt && command.errorCode === 'node_unavailable' && reply.ok;
      if (!command || (command.completedAt && !lateSuccess)) {
        this.logger.info(
          { commandId: reply.inReplyTo },
          'result for an unknown or completed command; ignored',
        );
        return 'ack';
      }
      if (sender !== command.nodeId || reply.nodeId !== command.nodeId) {
        this.logger.warn(
          { commandId: command.id, sender },
          'command result from another node than the one commanded; refused',
        );
        return 'reject';
      }
      await this.complete(manager, command, reply);
      return 'ack';
    });
  }

  /**
   * Publishes the command again (same message id, so the node still applies it once) with a
   * fresh delegation, after giving the node the current keys if it lacked them.
   */
  private async resend(reply: ReplyEnvelope): Promise<void> {
    const command = await this.dataSource
      .getRepository(OutboxEntity)
      .findOneBy({ id: reply.inReplyTo });
    if (!command || command.completedAt || command.deadline < this.clock.now()) return;
    if (!reply.ok && reply.error.code === 'delegation_key_unknown' && command.principal) {
      await this.rpc
        .pushKeys({ id: command.nodeId, tenantId: command.principal.tenantId }, command.requestId)
        .catch((error: unknown) =>
          this.logger.warn(
            { nodeId: command.nodeId, reason: errorMessage(error) },
            'key set not delivered',
          ),
        );
    }
    await this.dataSource.query(
      'UPDATE outbox SET published_at = NULL, next_attempt_at = $1 WHERE id = $2 AND completed_at IS NULL',
      [this.clock.now(), command.id],
    );
    this.logger.info(
      { commandId: command.id, code: reply.ok ? undefined : reply.error.code },
      'command refused as stale by the node; sending it again with a fresh delegation',
    );
    await this.audit.record({
      tenantId: command.principal?.tenantId ?? null,
      type: 'admin.outbox.command_resent',
      outcome: 'success',
      actor: null,
      reason: reply.ok ? null : reply.error.code,
      details: { commandId: command.id, method: command.method, nodeId: command.nodeId },
    });
    this.outbox.notify();
  }

  /**
   * Fails the commands whose deadline passed without a result: the node was gone too long, or
   * dropped the command as expired. Their capability learns it like any other failure.
   */
  async expireOverdue(): Promise<number> {
    const now = this.clock.now();
    return this.dataSource.transaction(async (manager) => {
      const overdue = await manager
        .createQueryBuilder(OutboxEntity, 'o')
        .where('o.completed_at IS NULL AND o.deadline < :now', { now })
        .limit(100)
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getMany();
      for (const command of overdue) {
        await this.complete(manager, command, {
          v: ENVELOPE_VERSION,
          type: 'reply',
          id: randomUUID(),
          inReplyTo: command.id,
          requestId: command.requestId,
          nodeId: command.nodeId,
          sentAt: now.toISOString(),
          ok: false,
          error: {
            code: 'node_unavailable',
            message: 'The node did not complete the command before its deadline.',
          },
        });
      }
      if (overdue.length > 0) {
        await this.audit.record({
          tenantId: null,
          type: 'admin.outbox.command_expired',
          outcome: 'failure',
          actor: null,
          reason: 'node_unavailable',
          details: { expired: overdue.length },
        });
      }
      return overdue.length;
    });
  }

  private async complete(
    manager: EntityManager,
    command: OutboxEntity,
    reply: ReplyEnvelope,
  ): Promise<void> {
    await manager.query(
      'UPDATE outbox SET completed_at = $1, result = $2, error_code = $3, error_message = $4 WHERE id = $5',
      [
        this.clock.now(),
        reply.ok ? JSON.stringify(reply.result) : null,
        reply.ok ? null : reply.error.code,
        reply.ok ? null : reply.error.message,
        command.id,
      ],
    );
    const handler = this.handlers.get(command.method);
    if (handler) await handler(manager, command, reply);
    if (!reply.ok) {
      const rows = await manager.query<Array<{ tenant_id: string }>>(
        'SELECT tenant_id FROM nodes WHERE id = $1',
        [command.nodeId],
      );
      await this.audit.record({
        tenantId: rows[0]?.tenant_id ?? null,
        type: 'admin.outbox.command_failed',
        outcome: 'failure',
        actor: null,
        reason: reply.error.code,
        details: {
          commandId: command.id,
          method: command.method,
          nodeId: command.nodeId,
          errorCode: reply.error.code,
        },
      });
    }
    this.logger.info(
      { commandId: command.id, method: command.method, ok: reply.ok, requestId: command.requestId },
      'command completed',
    );
  }
}
