import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';

/** Refusals of requests that carried no valid credential: nobody is signed in to name. */
export type AnonymousRefusalType = 'auth.session.refused' | 'auth.token.refused';

export interface AnonymousRefusal {
  type: AnonymousRefusalType;
  reason: string;
  ip: string | null;
  path: string;
}

export interface RefusalLimits {
  /** How long the refusals of one kind from one address are gathered into one record. */
  windowMs: number;
  /** Distinct (kind, reason, address) gathered at once; past it, addresses are not told apart. */
  keysMax: number;
}

export const DEFAULT_REFUSAL_LIMITS: RefusalLimits = { windowMs: 60_000, keysMax: 1000 };
/** Overrides the limits (tests). */
export const REFUSAL_LIMITS = Symbol('REFUSAL_LIMITS');

interface Gathered {
  refusal: AnonymousRefusal;
  windowEnds: number;
  /** Refusals after the first one of the window (that one was recorded at once). */
  repeats: number;
  firstRepeatAt: Date | undefined;
}

/**
 * Records refused anonymous requests without letting their sender fill the audit trail.
 * Anyone who can reach the control plane can send a made-up cookie or token, and each record
 * is a chained append on the platform chain: one record per request would let them grow the
 * trail at will and slow every other record. So the first refusal of a kind from an address is
 * recorded at once (an operator sees an attack start), the next ones in the window are counted,
 * and the count is recorded as one event (`repeats`, `firstAt`) when the window ends.
 */
@Injectable()
export class RefusalRecorder implements OnApplicationShutdown {
  private readonly gathered = new Map<string, Gathered>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly logger: PinoLogger,
    @Optional()
    @Inject(REFUSAL_LIMITS)
    private readonly limits: RefusalLimits = DEFAULT_REFUSAL_LIMITS,
  ) {
    logger.setContext('RefusalRecorder');
  }

  async refused(refusal: AnonymousRefusal): Promise<void> {
    const now = this.clock.now();
    let key = `${refusal.type} ${refusal.reason} ${refusal.ip ?? '-'}`;
    if (!this.gathered.has(key) && this.gathered.size >= this.limits.keysMax) {
      // Memory stays bounded whatever the number of addresses a sender uses.
      refusal = { ...refusal, ip: null };
      key = `${refusal.type} ${refusal.reason} *`;
    }
    const known = this.gathered.get(key);
    if (known && known.windowEnds > now.getTime()) {
      known.repeats += 1;
      known.firstRepeatAt ??= now;
      known.refusal = { ...known.refusal, path: refusal.path };
      return;
    }
    if (known) await this.write(known);
    this.gathered.set(key, {
      refusal,
      windowEnds: now.getTime() + this.limits.windowMs,
      repeats: 0,
      firstRepeatAt: undefined,
    });
    this.timer ??= setInterval(() => void this.flush(false), this.limits.windowMs / 4).unref();
    await this.audit.record(recordOf(refusal));
  }

  /** Writes the counts of ended windows; `all` writes every count now (shutdown, tests). */
  async flush(all = true): Promise<void> {
    const now = this.clock.now().getTime();
    for (const [key, g] of [...this.gathered]) {
      if (!all && g.windowEnds > now) continue;
      this.gathered.delete(key);
      await this.write(g);
    }
    if (this.gathered.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush(true);
  }

  private async write(g: Gathered): Promise<void> {
    if (g.repeats === 0) return;
    const count = g.repeats;
    g.repeats = 0;
    try {
      await this.audit.record(
        recordOf(g.refusal, {
          repeats: count,
          firstAt: (g.firstRepeatAt ?? new Date()).toISOString(),
        }),
      );
    } catch (error) {
      this.logger.error({ err: error, type: g.refusal.type, count }, 'refusal count not recorded');
    }
  }
}

function recordOf(refusal: AnonymousRefusal, repeated?: { repeats: number; firstAt: string }) {
  return {
    tenantId: null,
    type: refusal.type,
    outcome: 'failure' as const,
    actor: null,
    reason: refusal.reason,
    ip: refusal.ip,
    details: { path: refusal.path, ...repeated },
  };
}
