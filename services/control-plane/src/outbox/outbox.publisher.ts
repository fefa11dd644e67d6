import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource, Repository } from 'typeorm';
import { BridgeClient, errorMessage } from '@causeway/bridge';
import type { MutatingMethod } from '@causeway/contracts';
import { AMQP_CONNECTION } from '../bridge/bridge.module';
import { Clock } from '../common/clock';
import { CommandResults } from './command-results';
import { OutboxEntity } from './outbox.entity';
import { OutboxService } from './outbox.service';

const BATCH = 50;
const POLL_MS = 500;
const PUBLISH_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 30_000;
/** How often overdue commands are failed. */
const EXPIRY_MS = 5000;

/**
 * Drains the outbox: publishes unsent commands with a publisher confirm and marks them sent.
 * Rows are claimed with FOR UPDATE SKIP LOCKED so several control-plane instances share the
 * work. A crash between the confirm and the mark re-sends the command: the node answers the
 * duplicate from its completion record, so it is still applied once.
 */
@Injectable()
export class OutboxPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly bridge: BridgeClient,
    @Inject(AMQP_CONNECTION) private readonly connection: AmqpConnectionManager,
    private readonly outbox: OutboxService,
    private readonly results: CommandResults,
    private readonly clock: Clock,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('OutboxPublisher');
  }

  onApplicationBootstrap(): void {
    this.outbox.onEnqueued(() => this.kick());
    this.connection.on('connect', () => this.kick());
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.expiry = setInterval(() => {
      this.results
        .expireOverdue()
        .catch((error: unknown) =>
          this.logger.warn({ reason: errorMessage(error) }, 'expiring commands failed'),
        );
    }, EXPIRY_MS);
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.expiry) clearInterval(this.expiry);
    await this.draining;
  }

  /** Starts a drain unless one runs; a kick during a drain runs one more after it. */
  kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .catch((error: unknown) =>
        this.logger.warn({ reason: errorMessage(error) }, 'outbox drain failed'),
      )
      .finally(() => {
        this.draining = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async drain(): Promise<void> {
    // While the broker is away, publishing would only queue in memory: leave rows in the table.
    while (!this.stopped && this.connection.isConnected()) {
      const sent = await this.dataSource.transaction(async (manager) => {
        const rows = await manager
          .createQueryBuilder(OutboxEntity, 'o')
          .where('o.published_at IS NULL AND o.next_attempt_at <= :now AND o.deadline >= :now', {
            now: this.clock.now(),
          })
          .orderBy('o.created_at', 'ASC')
          .limit(BATCH)
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .getMany();
        const repo = manager.getRepository(OutboxEntity);
        for (const row of rows) {
          // The broker refused or timed out: leave the rest for the next round.
          if (!(await this.publish(repo, row))) return 0;
        }
        return rows.length;
      });
      if (sent < BATCH) return;
    }
  }

  /** True when the broker confirmed the command. */
  private async publish(repo: Repository<OutboxEntity>, row: OutboxEntity): Promise<boolean> {
    const attempts = row.attempts + 1;
    try {
      if (!row.principal) throw new Error('command has no principal to act for');
      await this.bridge.publishCommand({
        messageId: row.id,
        nodeId: row.nodeId,
        method: row.method as MutatingMethod,
        payload: row.payload,
        requestId: row.requestId,
        deadline: row.deadline.getTime(),
        timeoutMs: PUBLISH_TIMEOUT_MS,
        principal: row.principal,
      });
      await repo.update(
        { id: row.id },
        { attempts, publishedAt: this.clock.now(), lastError: null },
      );
      this.logger.info(
        { commandId: row.id, method: row.method, nodeId: row.nodeId, requestId: row.requestId },
        'command published',
      );
      return true;
    } catch (error) {
      const backoff =
        Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempts, 10)) * (0.5 + Math.random() / 2);
      await repo.update(
        { id: row.id },
        {
          attempts,
          lastError: errorMessage(error).slice(0, 500),
          nextAttemptAt: new Date(this.clock.now().getTime() + backoff),
        },
      );
      this.logger.warn(
        { commandId: row.id, attempts, reason: errorMessage(error) },
        'command not published; will retry',
      );
      return false;
    }
  }
}
