import * as OTPAuth from 'otpauth';
import { ManualClock } from '../../common/clock';
import { MfaError } from './mfa.errors';
import { Totp } from './totp';

describe('Totp', () => {
  // A step boundary plus 10 s, so ±30 s stays inside neighbouring steps.
  const start = new Date(Math.floor(Date.UTC(2026, 0, 1) / 30_000) * 30_000 + 10_000);
  let clock: ManualClock;
  let totp: Totp;

  beforeEach(() => {
    clock = new ManualClock(start);
    totp = new Totp(clock);
  });

  it('enrols with a 20-byte secret and an otpauth URI authenticator apps read', () => {
    const { secret, uri } = totp.enrol('Causeway (Acme)', 'ada@example.com');
    expect(OTPAuth.Secret.fromBase32(secret).bytes).toHaveLength(20);
    const parsed = OTPAuth.URI.parse(uri);
    expect(parsed).toBeInstanceOf(OTPAuth.TOTP);
    const t = parsed as OTPAuth.TOTP;
    expect(t).toMatchObject({ algorithm: 'SHA1', digits: 6, period: 30 });
    expect(t.issuer).toBe('Causeway (Acme)');
    expect(t.label).toBe('ada@example.com');
    expect(t.secret.base32).toBe(secret);
    expect(uri.startsWith('otpauth://totp/')).toBe(true);
  });

  it('gives each enrolment a different secret', () => {
    expect(totp.enrol('C', 'a').secret).not.toBe(totp.enrol('C', 'a').secret);
  });

  it('accepts the current code and returns its step', () => {
    const { secret } = totp.enrol('C', 'a');
    const code = totp.generate(secret);
    expect(totp.verify(secret, code)).toBe(Math.floor(start.getTime() / 30_000));
  });

  it('matches an independent RFC 6238 implementation (otpauth static generate)', () => {
    const { secret } = totp.enrol('C', 'a');
    const code = OTPAuth.TOTP.generate({
      secret: OTPAuth.Secret.fromBase32(secret),
      timestamp: start.getTime(),
    });
    expect(() => totp.verify(secret, code)).not.toThrow();
  });

  it('accepts codes one step either side and refuses two steps away', () => {
    const { secret } = totp.enrol('C', 'a');
    const at = (s: number) => totp.generate(secret, new Date(start.getTime() + s * 1000));
    expect(() => totp.verify(secret, at(-30))).not.toThrow();
    expect(() => totp.verify(secret, at(30))).not.toThrow();
    expect(() => totp.verify(secret, at(-60))).toThrow(
      expect.objectContaining({ code: 'totp_invalid' }),
    );
    expect(() => totp.verify(secret, at(60))).toThrow(
      expect.objectContaining({ code: 'totp_invalid' }),
    );
  });

  it('refuses a code already used in the same step, and an older one after it', () => {
    const { secret } = totp.enrol('C', 'a');
    const code = totp.generate(secret);
    const step = totp.verify(secret, code);
    expect(() => totp.verify(secret, code, step)).toThrow(
      expect.objectContaining({ code: 'totp_replayed' }),
    );
    const previous = totp.generate(secret, new Date(start.getTime() - 30_000));
    expect(() => totp.verify(secret, previous, step)).toThrow(
      expect.objectContaining({ code: 'totp_replayed' }),
    );
    clock.set(new Date(start.getTime() + 30_000));
    expect(totp.verify(secret, totp.generate(secret), step)).toBe(step + 1);
  });

  it('refuses malformed and wrong codes without echoing them', () => {
    const { secret } = totp.enrol('C', 'a');
    for (const bad of ['', '12345', '1234567', 'abcdef']) {
      expect(() => totp.verify(secret, bad)).toThrow(MfaError);
    }
    const good = totp.generate(secret);
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
    try {
      totp.verify(secret, wrong);
      throw new Error('accepted a wrong code');
    } catch (error) {
      expect(error).toMatchObject({ code: 'totp_invalid' });
      expect((error as Error).message).not.toContain(wrong);
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it('tolerates spaces inside a typed code', () => {
    const { secret } = totp.enrol('C', 'a');
    const code = totp.generate(secret);
    expect(() => totp.verify(secret, `${code.slice(0, 3)} ${code.slice(3)}`)).not.toThrow();
  });
});
