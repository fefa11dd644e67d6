import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Pool, type Notification, type PoolClient } from 'pg';
import type { Lock, Locker, RequestRelease } from '@tus/utils';
import { CausewayError } from '@causeway/contracts';
import { CONFIG, type ControlPlaneConfig } from '../config/config';

/** Where a waiting request asks the holder of an upload's lock to let go (payload: upload id). */
const RELEASE_CHANNEL = 'causeway_upload_release';
/** Connections for held locks: one per upload being written at this instance. */
const LOCK_POOL_SIZE = 32;

export interface PgUploadLockerOptions {
  /** How long a request waits for an upload's lock before it is refused (tus: 30 s). */
  acquireTimeoutMs?: number;
  /** How often a waiting request tries again (and asks the holder to let go). */
  retryMs?: number;
}

/**
 * tus's `Locker` over PostgreSQL session advisory locks, so that one upload has one writer across
 * every control-plane instance (the default MemoryLocker only covers one process).
 *
 * A held lock is a pooled connection holding `pg_try_advisory_lock(hashtextextended(
 * 'causeway.upload:<id>', 0))`; if the instance dies or the connection breaks, PostgreSQL drops
 * the lock with the session, so a lock is never left behind. As tus asks, a request that wants a
 * held lock asks the holder to finish (NOTIFY on a channel the holder LISTENs on; the holder
 * calls its `requestRelease`, and tus ends that request after its drain delay), then tries
 * again until the lock is free or its time is up (then 409 `conflict`, `reason: upload_locked`,
 * where tus's own locker answers 500). A waiting request holds no connection between attempts.
 */
export class PgUploadLocker implements Locker {
  private readonly acquireTimeoutMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly pool: Pool,
    options: PgUploadLockerOptions = {},
  ) {
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
    this.retryMs = options.retryMs ?? 100;
  }

  newLock(id: string): Lock {
    return new PgUploadLock(id, this.pool, this.acquireTimeoutMs, this.retryMs);
  }
}

class PgUploadLock implements Lock {
  private held:
    { client: PoolClient; onNotice: (n: Notification) => void; onError: () => void } | undefined;

  constructor(
    private readonly id: string,
    private readonly pool: Pool,
    private readonly acquireTimeoutMs: number,
    private readonly retryMs: number,
  ) {}

  private get key(): string {
    return `causeway.upload:${this.id}`;
  }

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    if (this.held) throw new Error('this upload lock is already held');
    const giveUpAt = Date.now() + this.acquireTimeoutMs;
    for (;;) {
      if (signal.aborted) throw busy();
      if (await this.tryLock(requestRelease)) return;
      // Ask whoever holds it to finish, as tus's own locker does.
      await this.pool.query('SELECT pg_notify($1, $2)', [RELEASE_CHANNEL, this.id]);
      if (Date.now() >= giveUpAt) throw busy();
      await pause(this.retryMs, signal);
    }
  }

  async unlock(): Promise<void> {
    const held = this.held;
    if (!held) throw new Error('Releasing an unlocked lock!');
    this.held = undefined;
    const { client } = held;
    client.off('notification', held.onNotice);
    client.off('error', held.onError);
    try {
      await client.query(`UNLISTEN ${RELEASE_CHANNEL}`);
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.key]);
      client.release();
    } catch (error) {
      // A broken connection: destroying it ends its session, and the lock with it.
      client.release(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async tryLock(requestRelease: RequestRelease): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [this.key],
      );
      if (!rows[0]?.locked) {
        client.release();
        return false;
      }
      await client.query(`LISTEN ${RELEASE_CHANNEL}`);
    } catch (error) {
      // Destroyed, not returned to the pool: its session may hold the lock.
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    const release = (): void => {
      void Promise.resolve()
        .then(() => requestRelease())
        .catch(() => undefined);
    };
    const onNotice = (notice: Notification): void => {
      if (notice.channel === RELEASE_CHANNEL && notice.payload === this.id) release();
    };
    // The connection (and so the lock) is gone: the request holding it must stop.
    const onError = (): void => release();
    client.on('notification', onNotice);
    client.on('error', onError);
    this.held = { client, onNotice, onError };
    return true;
  }
}

function busy(): CausewayError {
  return new CausewayError('conflict', 'Another request is writing this upload. Try again.', {
    reason: 'upload_locked',
  });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The control plane's upload locker, on its own small connection pool (closed at shutdown). */
@Injectable()
export class UploadLocks implements OnModuleDestroy {
  readonly pool: Pool;
  readonly locker: PgUploadLocker;

  constructor(@Inject(CONFIG) config: ControlPlaneConfig) {
    this.pool = new Pool({
      connectionString: config.databaseUrl,
      max: LOCK_POOL_SIZE,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    });
    // An idle pooled connection that breaks must not crash the process.
    this.pool.on('error', () => undefined);
    this.locker = new PgUploadLocker(this.pool);
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }
}
