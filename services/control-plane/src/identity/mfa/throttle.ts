import { Clock } from '../../common/clock';
import { LockedOutError } from './mfa.errors';

/**
 * What failures are counted against. Always tenant-scoped so one tenant's guessing never locks
 * out another's users; `subject` says what is counted, e.g. `user:<id>`, `email:<address>` or
 * `ip:<address>`.
 */
export interface ThrottleKey {
  readonly tenantId: string;
  readonly subject: string;
}

/**
 * Where failures and locks live. Each method is one atomic step so that a PostgreSQL version
 * (one UPDATE ... RETURNING per call) stays correct when several replicas count the same key.
 */
export interface ThrottleStore {
  /** Records a failure at `now`, forgets failures older than `windowStartMs`, returns the count. */
  recordFailure(key: ThrottleKey, nowMs: number, windowStartMs: number): Promise<number>;
  /** Locks the key until `untilMs` (epoch ms) and forgets its failures, so counting restarts. */
  lock(key: ThrottleKey, untilMs: number): Promise<void>;
  /** When the key's lock ends (epoch ms), if it is locked at all. */
  lockedUntil(key: ThrottleKey): Promise<number | undefined>;
  /** Forgets failures and lock, after a success. */
  reset(key: ThrottleKey): Promise<void>;
}

function keyString(key: ThrottleKey): string {
  return JSON.stringify([key.tenantId, key.subject]);
}

/** A process-local ThrottleStore for unit tests and single-process tools. */
export class InMemoryThrottleStore implements ThrottleStore {
  private readonly failures = new Map<string, number[]>();
  private readonly locks = new Map<string, number>();

  async recordFailure(key: ThrottleKey, nowMs: number, windowStartMs: number): Promise<number> {
    const id = keyString(key);
    const kept = (this.failures.get(id) ?? []).filter((t) => t > windowStartMs);
    kept.push(nowMs);
    this.failures.set(id, kept);
    return kept.length;
  }

  async lock(key: ThrottleKey, untilMs: number): Promise<void> {
    this.locks.set(keyString(key), untilMs);
    this.failures.delete(keyString(key));
  }

  async lockedUntil(key: ThrottleKey): Promise<number | undefined> {
    return this.locks.get(keyString(key));
  }

  async reset(key: ThrottleKey): Promise<void> {
    this.failures.delete(keyString(key));
    this.locks.delete(keyString(key));
  }
}

export interface ThrottleOptions {
  /** Failures within `windowMs` that lock the key. Default 5. */
  maxFailures?: number;
  /** How far back failures count. Default 15 minutes. */
  windowMs?: number;
  /** How long a lock lasts. Default 15 minutes. */
  lockoutMs?: number;
}

/**
 * Counts failed guesses per key and locks the key for a while once there are too many in the
 * window. Password, authenticator-code and email-code checks call `assertOpen` before checking
 * (so a locked key is refused without even looking at the guess), then `failure` or `success`.
 */
export class Throttle {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockoutMs: number;

  constructor(
    private readonly store: ThrottleStore,
    private readonly clock: Clock,
    options: ThrottleOptions = {},
  ) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.lockoutMs = options.lockoutMs ?? 15 * 60_000;
    if (!Number.isInteger(this.maxFailures) || this.maxFailures < 1) {
      throw new RangeError('Throttle maxFailures must be a positive integer.');
    }
    if (this.windowMs <= 0 || this.lockoutMs <= 0) {
      throw new RangeError('Throttle windowMs and lockoutMs must be positive.');
    }
  }

  /** Throws LockedOutError while the key is locked. */
  async assertOpen(key: ThrottleKey): Promise<void> {
    const until = await this.store.lockedUntil(key);
    if (until !== undefined && until > this.clock.now().getTime()) {
      throw new LockedOutError(new Date(until));
    }
  }

  /** Records a failed attempt; returns the lock's end if this failure locked the key. */
  async failure(key: ThrottleKey): Promise<Date | undefined> {
    const now = this.clock.now().getTime();
    const count = await this.store.recordFailure(key, now, now - this.windowMs);
    if (count < this.maxFailures) return undefined;
    const until = now + this.lockoutMs;
    await this.store.lock(key, until);
    return new Date(until);
  }

  /** A successful attempt clears the key's failures. */
  async success(key: ThrottleKey): Promise<void> {
    await this.store.reset(key);
  }
}
