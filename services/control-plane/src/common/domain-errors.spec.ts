import { CausewayError, ERROR_CATALOGUE } from '@causeway/contracts';
import { AllowListError } from '../identity/allow-list/allow-list.errors';
import { EMAIL_CODES_ERRORS, EmailCodesError } from '../identity/email-codes/email-codes.errors';
import { LockedOutError, MFA_ERRORS, MfaError } from '../identity/mfa/mfa.errors';
import { OidcLoginError } from '../identity/oidc/oidc.errors';
import { SamlConfigError, SamlLoginError } from '../identity/saml/saml.errors';
import { asCausewayError, reasonOf } from './domain-errors';

describe('asCausewayError: the one mapping from identity errors to answers', () => {
  it('gives every MFA and emailed-code refusal a catalogue answer, keeping its code as the reason', () => {
    const errors = [
      ...Object.keys(MFA_ERRORS).map((c) => new MfaError(c as keyof typeof MFA_ERRORS)),
      ...Object.keys(EMAIL_CODES_ERRORS).map(
        (c) => new EmailCodesError(c as keyof typeof EMAIL_CODES_ERRORS),
      ),
    ];
    for (const error of errors) {
      const mapped = asCausewayError(error);
      expect(mapped).toBeInstanceOf(CausewayError);
      expect(ERROR_CATALOGUE[mapped!.code]).toBeDefined();
      expect(mapped!.details).toEqual({ reason: error.code });
      expect(mapped!.message).toBe(error.message);
      expect(mapped!.status).toBeLessThan(600);
    }
  });

  it('answers guessing with 429 and says when to try again', () => {
    const until = new Date('2026-12-02T10:00:00Z');
    expect(asCausewayError(new LockedOutError(until))).toMatchObject({
      code: 'too_many_attempts',
      status: 429,
      details: { reason: 'locked_out', retryAfter: '2026-12-02T10:00:00.000Z' },
    });
    expect(asCausewayError(new EmailCodesError('rate_limited'))?.status).toBe(429);
  });

  it('answers a wrong password, code or assertion as a failed sign-in (401)', () => {
    for (const error of [
      new MfaError('password_invalid'),
      new EmailCodesError('code_expired'),
      new OidcLoginError('nonce_mismatch'),
      new SamlLoginError('assertion_replayed', 'id-123 (kept out of the answer)'),
    ]) {
      const mapped = asCausewayError(error);
      expect(mapped).toMatchObject({ code: 'sign_in_failed', status: 401 });
      expect(reasonOf(mapped!)).toBe(error.code);
      expect(mapped!.message).not.toContain('kept out of the answer');
    }
  });

  it('answers bad configuration with 400, a refused address with 403, policy with 403', () => {
    expect(asCausewayError(new SamlConfigError('metadata_invalid'))?.status).toBe(400);
    expect(asCausewayError(new AllowListError('allow_list_invalid'))?.code).toBe(
      'validation_failed',
    );
    expect(asCausewayError(new AllowListError('address_not_allowed'))).toMatchObject({
      code: 'address_not_allowed',
      status: 403,
    });
    expect(asCausewayError(new MfaError('passwords_not_allowed'))).toMatchObject({
      code: 'sign_in_method_not_allowed',
      status: 403,
    });
    expect(asCausewayError(new EmailCodesError('mail_failed'))?.status).toBe(503);
  });

  it('leaves an unknown error alone (it becomes a 500 with an error id only)', () => {
    expect(asCausewayError(new Error('boom'))).toBeUndefined();
    const own = new CausewayError('forbidden');
    expect(asCausewayError(own)).toBe(own);
  });
});
