import { specOf } from './audit-query';

/** Values an event's details carry (the JSON stored with it). */
export type AuditViewDetails = Record<string, unknown>;

/** One audit event as readers see it (the list, and each record of an export). */
export interface AuditEventView {
  id: string;
  seq: number;
  type: string;
  category: string;
  severity: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: AuditViewDetails;
  occurredAt: string;
}

/** The columns the reading side selects. */
export const VIEW_COLUMNS = 'seq, id, type, outcome, actor, reason, ip, details, occurred_at';

export interface AuditViewRow {
  seq: string;
  id: string;
  type: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: AuditViewDetails;
  occurred_at: Date;
}

export function viewOf(r: AuditViewRow): AuditEventView {
  const spec = specOf(r.type);
  return {
    id: r.id,
    seq: Number(r.seq),
    type: r.type,
    category: spec.category,
    severity: spec.severity,
    outcome: r.outcome,
    actor: r.actor,
    reason: r.reason,
    ip: r.ip,
    details: r.details,
    occurredAt: r.occurred_at.toISOString(),
  };
}
