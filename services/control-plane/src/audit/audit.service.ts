import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import {
  AUDIT_EVENTS,
  AUDIT_EVENT_TYPES,
  type AuditEventType,
  type AuditSeverity,
} from '@causeway/audit';
import { Clock } from '../common/clock';
import { parseInput } from '../common/validation';
import { TenantsService } from '../tenants/tenants.service';

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

export interface AuditEventView {
  id: string;
  seq: number;
  type: AuditEventType;
  category: string;
  severity: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: AuditDetails;
  occurredAt: string;
}

export const auditQuerySchema = z.strictObject({
  type: z.enum(AUDIT_EVENT_TYPES as [AuditEventType, ...AuditEventType[]]).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  actor: z.string().max(300).optional(),
  /** Events after this sequence number (for paging). */
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

interface Row {
  seq: string;
  id: string;
  type: AuditEventType;
  outcome: 'success' | 'failure';
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: AuditDetails;
  occurred_at: Date;
}

/**
 * The control plane's audit events (sign-ins, their failures, configuration changes). Recording
 * is part of the action: if the event cannot be written, the action fails rather than happen
 * unrecorded. Issue 8 turns this table into a hash-chained, archived trail.
 */
@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly clock: Clock,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('AuditService');
  }

  async record(event: AuditRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_events (id, tenant_id, occurred_at, type, outcome, actor, reason, ip, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        randomUUID(),
        event.tenantId,
        this.clock.now(),
        event.type,
        event.outcome,
        event.actor ?? null,
        event.reason ?? null,
        event.ip ?? null,
        JSON.stringify(event.details ?? {}),
      ],
    );
    const level = LOGGED_AS_WARNING.has(AUDIT_EVENTS[event.type].severity) ? 'warn' : 'info';
    this.logger[level](
      { event: event.type, tenantId: event.tenantId, outcome: event.outcome, reason: event.reason },
      'audit event',
    );
  }

  async list(tenantSlug: string, query: unknown): Promise<{ items: AuditEventView[] }> {
    const q = parseInput(auditQuerySchema, query, 'audit query');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const rows = await this.db.query<Row[]>(
      `SELECT seq, id, type, outcome, actor, reason, ip, details, occurred_at FROM audit_events
       WHERE tenant_id = $1
         AND ($2::text IS NULL OR type = $2)
         AND ($3::text IS NULL OR outcome = $3)
         AND ($4::text IS NULL OR actor = $4)
         AND seq > $5
       ORDER BY seq LIMIT $6`,
      [tenant.id, q.type ?? null, q.outcome ?? null, q.actor ?? null, q.after ?? 0, q.limit],
    );
    return {
      items: rows.map((r) => ({
        id: r.id,
        seq: Number(r.seq),
        type: r.type,
        category: AUDIT_EVENTS[r.type].category,
        severity: AUDIT_EVENTS[r.type].severity,
        outcome: r.outcome,
        actor: r.actor,
        reason: r.reason,
        ip: r.ip,
        details: r.details,
        occurredAt: r.occurred_at.toISOString(),
      })),
    };
  }
}
