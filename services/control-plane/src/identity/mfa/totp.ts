import * as OTPAuth from 'otpauth';
import { Clock } from '../../common/clock';
import { MfaError } from './mfa.errors';

/** What authenticator apps expect (RFC 6238 defaults); anything else breaks some apps. */
export const TOTP_ALGORITHM = 'SHA1';
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** RFC 4226 recommends 160 bits for HMAC-SHA-1 secrets. */
export const TOTP_SECRET_BYTES = 20;
/** Steps either side of now that are still accepted, for clock drift on the phone. */
export const TOTP_WINDOW = 1;

/** A fresh enrolment: the secret to store (encrypted) and the URI to show as a QR code once. */
export interface TotpEnrolment {
  /** Base32, as in the URI. A secret: store it encrypted, never log it. */
  secret: string;
  /** `otpauth://totp/...` for the authenticator app. */
  uri: string;
}

/**
 * Creates and checks TOTP codes. Replay protection needs one number per enrolment: the last
 * accepted time step. `verify` refuses any code whose step is not after it (RFC 6238 5.2), and
 * the caller stores the returned step atomically (compare-and-set), which `MfaVerifier` does.
 */
export class Totp {
  constructor(private readonly clock: Clock) {}

  /** `issuer` is the product or tenant name; `accountName` the user's email. */
  enrol(issuer: string, accountName: string): TotpEnrolment {
    const secret = new OTPAuth.Secret({ size: TOTP_SECRET_BYTES });
    const totp = this.totp(secret, issuer, accountName);
    return { secret: secret.base32, uri: totp.toString() };
  }

  /** The code for the current step; for tests and for checking an enrolment round trip. */
  generate(secret: string, at: Date = this.clock.now()): string {
    return this.totp(OTPAuth.Secret.fromBase32(secret)).generate({ timestamp: at.getTime() });
  }

  /**
   * Returns the time step the code belongs to. Throws `totp_invalid` when it matches no step
   * within the window, `totp_replayed` when its step is not after `lastUsedStep`.
   */
  verify(secret: string, code: string, lastUsedStep?: number): number {
    const token = code.replace(/\s+/g, '');
    if (!new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(token)) throw new MfaError('totp_invalid');
    const now = this.clock.now().getTime();
    const totp = this.totp(OTPAuth.Secret.fromBase32(secret));
    const delta = totp.validate({ token, timestamp: now, window: TOTP_WINDOW });
    if (delta === null) throw new MfaError('totp_invalid');
    const step = totp.counter({ timestamp: now }) + delta;
    if (lastUsedStep !== undefined && step <= lastUsedStep) throw new MfaError('totp_replayed');
    return step;
  }

  private totp(secret: OTPAuth.Secret, issuer = '', label = 'Causeway'): OTPAuth.TOTP {
    return new OTPAuth.TOTP({
      issuer,
      label,
      secret,
      algorithm: TOTP_ALGORITHM,
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
    });
  }
}
