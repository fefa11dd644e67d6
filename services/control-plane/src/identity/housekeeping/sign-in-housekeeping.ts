import {
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { returnedRows } from '../../common/returned-rows';
import { CONFIG, type ControlPlaneConfig } from '../../config/config';
import { AuditService } from '../../audit/audit.service';

const SWEEP_EVERY_MS = 10 * 60_000;
/** Ended sessions stay listed this long (for support questions), then go. */
const KEEP_ENDED_SESSIONS_MS = 7 * 24 * 3_600_000;
/** Sign-in failure counters without a lock are forgotten after this long without failures. */
const KEEP_FAILURES_MS = 24 * 3_600_000;

/**
 * Deletes what sign-in leaves behind once it can no longer be used: ended sessions, finished or
 * stale sign-in attempts, old emailed codes, expired SAML request and assertion ids, and old
 * failure counters. Nothing here is needed for a decision any more: every check also tests the
 * expiry itself, so a late sweep never lets anything through. The audit trail keeps the history.
 */
@Injectable()
export class SignInHousekeeping implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly logger: PinoLogger,
    private readonly audit: AuditService,
  ) {
    logger.setContext('SignInHousekeeping');
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.logger.warn({ err }, 'sign-in sweep failed'));
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One sweep; returns how many rows each table lost. */
  async sweep(): Promise<Record<string, number>> {
    const now = this.clock.now();
    const endedBefore = new Date(now.getTime() - KEEP_ENDED_SESSIONS_MS);
    const counts: Record<string, number> = {
      sessions: await this.count(
        `DELETE FROM sessions
         WHERE revoked_at < $1 OR absolute_expires_at < $1 OR last_seen_at < $2 RETURNING id`,
        [endedBefore, new Date(endedBefore.getTime() - this.config.sessionIdleMs)],
      ),
      login_attempts: await this.count(
        'DELETE FROM login_attempts WHERE expires_at < $1 RETURNING id',
        [now],
      ),
      // Kept an hour past expiry: the hourly sending limit counts them.
      email_codes: await this.count('DELETE FROM email_codes WHERE expires_at < $1 RETURNING id', [
        new Date(now.getTime() - 3_600_000),
      ]),
      saml_requests: await this.count(
        'DELETE FROM saml_requests WHERE expires_at < $1 RETURNING request_id',
        [now],
      ),
      saml_used_assertions: await this.count(
        'DELETE FROM saml_used_assertions WHERE expires_at < $1 RETURNING assertion_id',
        [now],
      ),
      sign_in_failures: await this.count(
        `DELETE FROM sign_in_failures
         WHERE (locked_until IS NULL OR locked_until < $1)
           AND NOT EXISTS (SELECT 1 FROM unnest(failures) AS f WHERE f > $2)
         RETURNING subject`,
        [now, new Date(now.getTime() - KEEP_FAILURES_MS)],
      ),
    };
    this.logger.debug({ deleted: counts }, 'sign-in sweep done');
    if (Object.values(counts).some((n) => n > 0)) {
      await this.audit.record({
        tenantId: null,
        type: 'auth.expired_records.purged',
        outcome: 'success',
        actor: null,
        details: counts,
      });
    }
    return counts;
  }

  private async count(sql: string, params: unknown[]): Promise<number> {
    return returnedRows(await this.db.query<unknown[] | [unknown[], number]>(sql, params)).length;
  }
}

@Module({ providers: [SignInHousekeeping] })
export class SignInHousekeepingModule {}
