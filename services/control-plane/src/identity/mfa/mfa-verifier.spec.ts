import { argon2idParameters } from './argon2-parameters';
import { ManualClock } from '../../common/clock';
import { LockedOutError, MfaError } from './mfa.errors';
import { MfaVerifier } from './mfa-verifier';
import { PasswordHasher } from './passwords';
import { generateRecoveryCodes } from './recovery-codes';
import { InMemorySecondFactorStore } from './second-factor.store';
import { InMemoryThrottleStore, Throttle } from './throttle';
import { Totp } from './totp';

describe('MfaVerifier', () => {
  const alice = { tenantId: 'tenant-a', userId: 'alice' };
  const allowed = { passwordsAllowed: true };
  const hasher = new PasswordHasher();
  let clock: ManualClock;
  let store: InMemorySecondFactorStore;
  let totp: Totp;
  let verifier: MfaVerifier;

  beforeEach(() => {
    clock = new ManualClock(new Date(Math.floor(Date.UTC(2026, 0, 1) / 30_000) * 30_000 + 5_000));
    store = new InMemorySecondFactorStore();
    totp = new Totp(clock);
    const throttle = new Throttle(new InMemoryThrottleStore(), clock, {
      maxFailures: 3,
      windowMs: 10 * 60_000,
      lockoutMs: 15 * 60_000,
    });
    verifier = new MfaVerifier(store, throttle, totp, hasher, clock);
  });

  describe('passwords', () => {
    it('refuses passwords where the tenant does not allow them, before any check', async () => {
      const hash = await hasher.hash('pw-1234567890');
      await expect(
        verifier.verifyPassword({ passwordsAllowed: false }, alice, 'pw-1234567890', hash),
      ).rejects.toMatchObject({ code: 'passwords_not_allowed' });
    });

    it('accepts the right password and asks for a rehash of an old hash', async () => {
      const hash = await hasher.hash('pw-1234567890');
      await expect(verifier.verifyPassword(allowed, alice, 'pw-1234567890', hash)).resolves.toEqual(
        {},
      );
      const stronger = new MfaVerifier(
        store,
        new Throttle(new InMemoryThrottleStore(), clock),
        totp,
        new PasswordHasher({ timeCost: 3 }),
        clock,
      );
      const { rehash } = await stronger.verifyPassword(allowed, alice, 'pw-1234567890', hash);
      expect(argon2idParameters(rehash ?? '')).toEqual({ m: 19456, t: 3, p: 1 });
    });

    it('locks out after repeated wrong passwords, even for the right one, until the lock ends', async () => {
      const hash = await hasher.hash('right-password');
      for (let i = 0; i < 3; i++) {
        await expect(
          verifier.verifyPassword(allowed, alice, `wrong-${i}`, hash),
        ).rejects.toMatchObject({ code: 'password_invalid' });
      }
      await expect(verifier.verifyPassword(allowed, alice, 'right-password', hash)).rejects.toThrow(
        LockedOutError,
      );
      // Another user of the same tenant, and the same user id in another tenant, are unaffected.
      await expect(
        verifier.verifyPassword(allowed, { ...alice, userId: 'bob' }, 'right-password', hash),
      ).resolves.toEqual({});
      await expect(
        verifier.verifyPassword(
          allowed,
          { ...alice, tenantId: 'tenant-b' },
          'right-password',
          hash,
        ),
      ).resolves.toEqual({});
      clock.advance(15 * 60_000);
      await expect(
        verifier.verifyPassword(allowed, alice, 'right-password', hash),
      ).resolves.toEqual({});
    });

    it('answers a user without a password like a wrong password', async () => {
      await expect(
        verifier.verifyPassword(allowed, alice, 'anything', undefined),
      ).rejects.toMatchObject({
        code: 'password_invalid',
      });
    });

    it('never puts the password into the error', async () => {
      const hash = await hasher.hash('right-password');
      const error = (await verifier
        .verifyPassword(allowed, alice, 'my-wrong-guess', hash)
        .catch((e: unknown) => e)) as MfaError;
      expect(error).toBeInstanceOf(MfaError);
      expect(error.message).not.toContain('my-wrong-guess');
      expect(error.message).not.toContain(hash);
    });
  });

  describe('TOTP', () => {
    it('accepts a code once and refuses its replay', async () => {
      const { secret } = totp.enrol('Causeway', 'alice@example.com');
      store.setTotp(alice.tenantId, alice.userId, secret);
      const code = totp.generate(secret);
      await expect(verifier.verifyTotp(alice, code)).resolves.toBeUndefined();
      await expect(verifier.verifyTotp(alice, code)).rejects.toMatchObject({
        code: 'totp_replayed',
      });
      clock.advance(30_000);
      await expect(verifier.verifyTotp(alice, totp.generate(secret))).resolves.toBeUndefined();
    });

    it('says when no authenticator is enrolled', async () => {
      await expect(verifier.verifyTotp(alice, '123456')).rejects.toMatchObject({
        code: 'totp_not_enrolled',
      });
    });

    it('locks out after repeated wrong codes', async () => {
      const { secret } = totp.enrol('Causeway', 'alice@example.com');
      store.setTotp(alice.tenantId, alice.userId, secret);
      const good = totp.generate(secret);
      const wrong = good === '000000' ? '000001' : '000000';
      for (let i = 0; i < 3; i++) {
        await expect(verifier.verifyTotp(alice, wrong)).rejects.toMatchObject({
          code: 'totp_invalid',
        });
      }
      await expect(verifier.verifyTotp(alice, good)).rejects.toThrow(LockedOutError);
    });
  });

  describe('recovery codes', () => {
    it('uses each code once', async () => {
      const { codes, hashes } = await generateRecoveryCodes(3);
      store.setRecoveryCodes(alice.tenantId, alice.userId, hashes);
      await expect(verifier.useRecoveryCode(alice, codes[0])).resolves.toBeUndefined();
      await expect(verifier.useRecoveryCode(alice, codes[0])).rejects.toMatchObject({
        code: 'recovery_code_invalid',
      });
      await expect(verifier.useRecoveryCode(alice, codes[1])).resolves.toBeUndefined();
      expect(await store.unusedRecoveryCodes(alice.tenantId, alice.userId)).toHaveLength(1);
    });

    it("does not accept one tenant's codes for the same user id in another tenant", async () => {
      const { codes, hashes } = await generateRecoveryCodes(1);
      store.setRecoveryCodes(alice.tenantId, alice.userId, hashes);
      await expect(
        verifier.useRecoveryCode({ ...alice, tenantId: 'tenant-b' }, codes[0]),
      ).rejects.toMatchObject({ code: 'recovery_code_invalid' });
    });
  });
});
