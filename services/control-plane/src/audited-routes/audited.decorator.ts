import { SetMetadata } from '@nestjs/common';
import type { AuditEventType } from '@causeway/audit';

export const AUDITED_KEY = 'causeway:audited';

export interface AuditedRoute {
  type: AuditEventType;
  /** A constant the event carries, e.g. the sign-in method of a route. */
  method?: string;
}

/**
 * Declares the audit event a route records when it succeeds: the caller, their address, the
 * ids the path names and (for lists) how many items were answered. For reads and for changes
 * whose service does not record a richer event itself. Recorded before the answer is sent:
 * a read that cannot be recorded is not answered.
 */
export const Audited = (type: AuditEventType, options: { method?: string } = {}): MethodDecorator =>
  SetMetadata(AUDITED_KEY, { type, ...options } satisfies AuditedRoute);

export const NOT_AUDITED_KEY = 'causeway:not-audited';

/**
 * Declares that a route records no audit event of its own, and why (it reads nothing of a
 * tenant's, like a health check, or what it does is recorded elsewhere, like one PATCH of a
 * resumable upload whose completion is recorded). Every other route that succeeds without
 * recording an event is reported as an error (see AuditedInterceptor).
 */
export const NotAudited = (why: string): MethodDecorator & ClassDecorator =>
  SetMetadata(NOT_AUDITED_KEY, why);
