import { randomUUID } from 'node:crypto';
import { hmacSha256Hex, randomDigits } from '@causeway/crypto';
import { secretsEqual } from '@causeway/crypto';
import { Clock } from '../../common/clock';
import { LockedOutError } from '../mfa/mfa.errors';
import type { Throttle } from '../mfa/throttle';
import { EmailCodesError } from './email-codes.errors';
import type { EmailCodeStore } from './email-code.store';
import type { Mailer } from './mailer';

export interface EmailCodeOptions {
  /** Server key for the code HMAC, at least 32 bytes. A secret: from config, never logged. */
  hmacKey: Buffer;
  /** 6 to 8. Default 6. */
  digits?: number;
  /** Default 10 minutes. */
  ttlMs?: number;
  /** Wrong guesses per code before it is locked. Default 5. */
  maxAttempts?: number;
  /** Codes per address per hour. Default 5. */
  maxCodesPerHour?: number;
}

/** The tenant a code is for; its name is the only tenant data the email shows. */
export interface CodeTenant {
  id: string;
  name: string;
}

const HOUR_MS = 60 * 60_000;

/** Trimmed and lower-cased, so `Ada@Example.com ` and `ada@example.com` share codes and limits. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function assertEmail(email: string): void {
  // Deliberately loose: one @, something on both sides, no spaces or angle brackets.
  if (email.length > 254 || !/^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/.test(email)) {
    throw new EmailCodesError('email_invalid');
  }
}

/**
 * One-time sign-in codes sent by email. A code is short-lived, used at most once, locked after
 * a few wrong guesses, and an address gets only a few per hour. Only an HMAC of the code is
 * stored, bound to tenant, address and code id, so a leaked table row cannot be replayed
 * elsewhere and a leaked table is useless without the server key. Issuing a new code retires
 * the previous one.
 */
export class EmailCodeService {
  readonly digits: number;
  readonly ttlMs: number;
  readonly maxAttempts: number;
  readonly maxCodesPerHour: number;
  private readonly hmacKey: Buffer;

  constructor(
    private readonly store: EmailCodeStore,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
    options: EmailCodeOptions,
    /** Optional per tenant+address throttle across codes, shared with other sign-in checks. */
    private readonly throttle?: Throttle,
  ) {
    this.digits = options.digits ?? 6;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.maxCodesPerHour = options.maxCodesPerHour ?? 5;
    if (!Number.isInteger(this.digits) || this.digits < 6 || this.digits > 8) {
      throw new RangeError('Email codes must have 6 to 8 digits.');
    }
    if (options.hmacKey.length < 32) {
      throw new RangeError('The email code HMAC key must be at least 32 bytes.');
    }
    if (this.ttlMs <= 0 || this.maxAttempts < 1 || this.maxCodesPerHour < 1) {
      throw new RangeError('Email code ttlMs, maxAttempts and maxCodesPerHour must be positive.');
    }
    this.hmacKey = Buffer.from(options.hmacKey);
  }

  /**
   * Creates a code for the address and mails it. Returns when it expires, never the code.
   * Throws `rate_limited` past the hourly limit and `mail_failed` when SMTP fails (the code
   * still counts towards the limit, so a failing relay cannot be used to spam).
   */
  async issue(tenant: CodeTenant, rawEmail: string): Promise<{ expiresAt: Date }> {
    const email = normaliseEmail(rawEmail);
    assertEmail(email);
    const now = this.clock.now();
    const recent = await this.store.countIssuedSince(
      tenant.id,
      email,
      new Date(now.getTime() - HOUR_MS),
    );
    if (recent >= this.maxCodesPerHour) throw new EmailCodesError('rate_limited');

    const id = randomUUID();
    const code = randomDigits(this.digits);
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.store.insert({
      id,
      tenantId: tenant.id,
      email,
      hash: this.hash(tenant.id, email, id, code),
      createdAt: now,
      expiresAt,
      attempts: 0,
    });
    await this.mailer.sendSignInCode(email, {
      tenantName: tenant.name,
      code,
      expiresInMinutes: Math.round(this.ttlMs / 60_000),
    });
    return { expiresAt };
  }

  /**
   * Accepts the newest code for the address once. Refusals: `code_invalid` (wrong, reused, or
   * none issued), `code_expired`, `too_many_attempts` (this code had too many wrong guesses, or
   * the address is locked by the throttle).
   */
  async verify(tenantId: string, rawEmail: string, rawCode: string): Promise<void> {
    const email = normaliseEmail(rawEmail);
    const key = { tenantId, subject: `email-code:${email}` };
    if (this.throttle) {
      try {
        await this.throttle.assertOpen(key);
      } catch (error) {
        if (error instanceof LockedOutError) throw new EmailCodesError('too_many_attempts');
        throw error;
      }
    }
    const now = this.clock.now();
    const record = await this.store.latest(tenantId, email);
    if (!record || record.usedAt) return this.refuse(key, 'code_invalid');
    if (now.getTime() >= record.expiresAt.getTime()) return this.refuse(key, 'code_expired');
    if (record.attempts >= this.maxAttempts) return this.refuse(key, 'too_many_attempts');
    // Count the attempt before comparing, so parallel guesses cannot slip past the limit.
    const attempts = await this.store.recordAttempt(tenantId, record.id);
    if (attempts > this.maxAttempts) return this.refuse(key, 'too_many_attempts');

    const code = rawCode.replace(/\s+/g, '');
    const expected = record.hash;
    const given = this.hash(tenantId, email, record.id, code);
    if (!new RegExp(`^\\d{${this.digits}}$`).test(code) || !secretsEqual(given, expected)) {
      return this.refuse(key, 'code_invalid');
    }
    if (!(await this.store.markUsed(tenantId, record.id, now))) {
      return this.refuse(key, 'code_invalid');
    }
    await this.throttle?.success(key);
  }

  private async refuse(
    key: { tenantId: string; subject: string },
    code: 'code_invalid' | 'code_expired' | 'too_many_attempts',
  ): Promise<never> {
    await this.throttle?.failure(key);
    throw new EmailCodesError(code);
  }

  private hash(tenantId: string, email: string, id: string, code: string): string {
    return hmacSha256Hex(
      this.hmacKey,
      JSON.stringify(['causeway/email-code/v1', tenantId, email, id, code]),
    );
  }
}
