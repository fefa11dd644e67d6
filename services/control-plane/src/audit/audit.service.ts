import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import {
  AUDIT_EVENTS,
  checkAuditDetails,
  type AuditEventType,
  type AuditSeverity,
} from '@causeway/audit';
import { Clock } from '../common/clock';
import { appendToChain } from './audit-chain';

const LOGGED_AS_WARNING: ReadonlySet<AuditSeverity> = new Set(['warning', 'critical']);

/** Values an event may carry: identifiers, method names, reason codes. Never a secret. */
export type AuditDetails = Record<string, string | number | boolean | null>;

export interface AuditRecord {
  tenantId: string | null;
  type: AuditEventType;
  outcome: 'success' | 'failure';
  /** Who acted: `user:<id>`, `operator:platform`, or for a refused sign-in `email:<address>`. */
  actor?: string | null;
  /** The machine-readable reason of a failure. */
  reason?: string | null;
  ip?: string | null;
  details?: AuditDetails;
}

/** Called after an event is written (see `AuditService.onRecorded`). */
export type AuditObserver = (event: AuditRecord) => Promise<void> | void;

/** How readers see an event: see audit-view.ts (the reading side, AuditQueryService). */
export type { AuditEventView } from './audit-view';

/** Events recorded so far by the work that `AuditService.counting` started. */
export interface RecordedCount {
  recorded: number;
}

/**
 * The control plane's audit events. Recording is part of the action: if the event cannot be
 * written, the action fails rather than happen unrecorded. Each event is appended to its chain
 * (audit-chain.ts), which is sealed and archived by AuditTrailService.
 */
@Injectable()
export class AuditService {
  private readonly counts = new AsyncLocalStorage<RecordedCount>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('AuditService');
  }

  async record(event: AuditRecord): Promise<void> {
    // Details the catalogue does not name, or of the wrong type, are a bug: refused, not written.
    checkAuditDetails(event.type, event.details);
    // Hash-chained in one statement that locks the chain head (see audit-chain.ts).
    await appendToChain(this.db, {
      id: randomUUID(),
      tenant_id: event.tenantId,
      occurred_at: this.clock.now(),
      type: event.type,
      outcome: event.outcome,
      actor: event.actor ?? null,
      reason: event.reason ?? null,
      ip: event.ip ?? null,
      details: event.details ?? {},
    });
    const count = this.counts.getStore();
    if (count) count.recorded += 1;
    const level = LOGGED_AS_WARNING.has(AUDIT_EVENTS[event.type].severity) ? 'warn' : 'info';
    this.logger[level](
      { event: event.type, tenantId: event.tenantId, outcome: event.outcome, reason: event.reason },
      'audit event',
    );
    await this.notifyObservers(event);
  }

  /**
   * Runs `start` so that the events recorded by whatever it starts (a request's handler, and
   * the async work it awaits) are counted in `count`: how a request that changed or read
   * something without recording it is found (see AuditedInterceptor).
   */
  counting<T>(count: RecordedCount, start: () => T): T {
    return this.counts.run(count, start);
  }

  private readonly observers: AuditObserver[] = [];

  /**
   * Lets another module (anomaly alerts) see each event after it is written. An observer's
   * failure is logged, never thrown into the action that recorded the event.
   */
  onRecorded(observer: AuditObserver): void {
    this.observers.push(observer);
  }

  private async notifyObservers(event: AuditRecord): Promise<void> {
    for (const observer of this.observers) {
      try {
        await observer(event);
      } catch (error) {
        this.logger.error({ event: event.type, err: error }, 'audit observer failed');
      }
    }
  }
}
