import { ManualClock } from '../../common/clock';
import { LockedOutError } from './mfa.errors';
import { InMemoryThrottleStore, Throttle } from './throttle';
import { asCausewayError } from '../../common/domain-errors';

describe('Throttle', () => {
  const key = { tenantId: 't1', subject: 'user:u1' };
  let clock: ManualClock;
  let throttle: Throttle;

  beforeEach(() => {
    clock = new ManualClock('2026-01-01T00:00:00Z');
    throttle = new Throttle(new InMemoryThrottleStore(), clock, {
      maxFailures: 3,
      windowMs: 60_000,
      lockoutMs: 300_000,
    });
  });

  it('locks the key after maxFailures failures within the window', async () => {
    expect(await throttle.failure(key)).toBeUndefined();
    expect(await throttle.failure(key)).toBeUndefined();
    const until = await throttle.failure(key);
    expect(until).toEqual(new Date(clock.now().getTime() + 300_000));
    const refused = await throttle.assertOpen(key).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockedOutError);
    expect(refused).toMatchObject({ code: 'locked_out', lockedUntil: until });
    expect(asCausewayError(refused)).toMatchObject({
      code: 'too_many_attempts',
      status: 429,
      details: { reason: 'locked_out', retryAfter: until?.toISOString() },
    });
  });

  it('opens again when the lock has run out, with the count started afresh', async () => {
    for (let i = 0; i < 3; i++) await throttle.failure(key);
    clock.advance(299_999);
    await expect(throttle.assertOpen(key)).rejects.toThrow(LockedOutError);
    clock.advance(1);
    await expect(throttle.assertOpen(key)).resolves.toBeUndefined();
    expect(await throttle.failure(key)).toBeUndefined();
  });

  it('forgets failures older than the window', async () => {
    await throttle.failure(key);
    await throttle.failure(key);
    clock.advance(60_001);
    expect(await throttle.failure(key)).toBeUndefined();
    await expect(throttle.assertOpen(key)).resolves.toBeUndefined();
  });

  it('clears failures on success', async () => {
    await throttle.failure(key);
    await throttle.failure(key);
    await throttle.success(key);
    expect(await throttle.failure(key)).toBeUndefined();
  });

  it('counts per tenant and subject: B is not locked by guesses against A', async () => {
    for (let i = 0; i < 3; i++) await throttle.failure(key);
    await expect(
      throttle.assertOpen({ tenantId: 't2', subject: 'user:u1' }),
    ).resolves.toBeUndefined();
    await expect(
      throttle.assertOpen({ tenantId: 't1', subject: 'user:u2' }),
    ).resolves.toBeUndefined();
  });

  it('refuses nonsense options', () => {
    expect(() => new Throttle(new InMemoryThrottleStore(), clock, { maxFailures: 0 })).toThrow(
      RangeError,
    );
  });
});
