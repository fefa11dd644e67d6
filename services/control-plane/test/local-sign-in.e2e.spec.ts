import { randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import type { Response } from 'supertest';
import { startSmtpCapture, type SmtpCapture } from '@causeway/testing';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { TenantsService } from '../src/tenants/tenants.service';
import { UsersRepository } from '../src/users/users.repository';
import { Stack } from './harness';

/**
 * Signing in without an identity provider, against a real control plane on PostgreSQL and a
 * real SMTP server: emailed codes are read from the captured mail, authenticator codes are
 * computed from the secret the enrolment returned, as an authenticator app would.
 */
describe('local sign-in: emailed codes, passwords, authenticator apps', () => {
  let stack: Stack;
  let smtp: SmtpCapture;
  /** Everything that must never reach a log line. */
  const secrets: string[] = [];
  /** Emailed codes: six digits, so they are looked for as whole numbers only. */
  const codes: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    secrets.push(smtp.auth.pass);
    const user = encodeURIComponent(smtp.auth.user);
    const pass = encodeURIComponent(smtp.auth.pass);
    const key = randomBytes(32).toString('base64');
    secrets.push(key);
    stack = await Stack.start({
      CAUSEWAY_SMTP_URL: `smtp://${user}:${pass}@127.0.0.1:${smtp.port}`,
      CAUSEWAY_SMTP_REQUIRE_TLS: 'false',
      CAUSEWAY_MAIL_FROM: 'Causeway <no-reply@causeway.test>',
      CAUSEWAY_EMAIL_CODE_KEY: key,
    });
    for (const slug of ['acme', 'globex', 'initech', 'umbrella']) await stack.createTenant(slug);
  });

  afterAll(async () => {
    await stack?.close();
    await smtp?.stop();
  });

  async function createUser(slug: string, email: string): Promise<string> {
    const tenant = await stack.app.get(TenantsService).getBySlug(slug);
    const user = await stack.app
      .get(UsersRepository)
      .findOrCreate(tenant.id, email, email.split('@')[0] ?? null, new Date());
    return user.id;
  }

  /** Asks for a code and reads it from the mail that arrived. */
  async function emailedCode(slug: string, email: string): Promise<string> {
    const res = await stack
      .anonymous()
      .post(`/api/v1/auth/${slug}/email/start`)
      .send({ email })
      .expect(202);
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now());
    const mail = await smtp.waitForMail(email.trim().toLowerCase());
    const match = /\b(\d{6})\b/.exec(mail.text);
    if (!match?.[1]) throw new Error(`no code in the mail: ${mail.text}`);
    codes.push(match[1]);
    return match[1];
  }

  function cookieOf(res: Response): string {
    const header = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const pair = header
      .map((h) => h.split(';')[0])
      .find((p) => p?.startsWith(`${SESSION_COOKIE}=`));
    if (!pair) throw new Error('no session cookie was set');
    return pair;
  }

  /** Signs in with an emailed code; returns the session cookie and the answer. */
  async function signInByEmail(
    slug: string,
    email: string,
  ): Promise<{ cookie: string; secondFactorRequired: boolean }> {
    const code = await emailedCode(slug, email);
    const res = await stack
      .anonymous()
      .post(`/api/v1/auth/${slug}/email/verify`)
      .send({ email, code })
      .expect(200);
    return { cookie: cookieOf(res), secondFactorRequired: res.body.secondFactorRequired };
  }

  interface AuditItem {
    actor: string | null;
    reason: string | null;
    details: Record<string, unknown>;
  }

  async function auditEvents(slug: string, type: string): Promise<AuditItem[]> {
    const res = await stack
      .http()
      .get(`/api/v1/tenants/${slug}/audit-events`)
      .query({ type, limit: 1000 })
      .expect(200);
    return (res.body as { items: AuditItem[] }).items;
  }

  function otherCode(code: string): string {
    return code === '000000' ? '000001' : '000000';
  }

  describe('emailed codes', () => {
    it('signs in with the code from the real mail', async () => {
      const id = await createUser('acme', 'ada@acme.test');
      const code = await emailedCode('acme', 'Ada@Acme.test ');
      const res = await stack
        .anonymous()
        .post('/api/v1/auth/acme/email/verify')
        .send({ email: 'ada@acme.test', code })
        .expect(200);
      expect(res.body).toEqual({ secondFactorRequired: false });
      const header = String(res.headers['set-cookie']);
      expect(header).toContain('HttpOnly');
      expect(header).toContain('Secure');
      const me = await stack.anonymous().get('/api/v1/me').set('Cookie', cookieOf(res)).expect(200);
      expect(me.body).toMatchObject({ id, email: 'ada@acme.test', authMethod: 'email-code' });
      const sent = await auditEvents('acme', 'auth.email_code.sent');
      expect(sent.some((e) => e.actor === `user:${id}`)).toBe(true);
      const succeeded = await auditEvents('acme', 'auth.sign_in.succeeded');
      expect(
        succeeded.some((e) => e.actor === `user:${id}` && e.details.method === 'email-code'),
      ).toBe(true);
    });

    it('refuses a wrong code (audited as code_invalid) and a code used once already', async () => {
      await createUser('acme', 'bea@acme.test');
      const code = await emailedCode('acme', 'bea@acme.test');
      const wrong = await stack
        .anonymous()
        .post('/api/v1/auth/acme/email/verify')
        .send({ email: 'bea@acme.test', code: otherCode(code) })
        .expect(401);
      expect(wrong.body.code).toBe('sign_in_failed');
      expect(wrong.headers['set-cookie']).toBeUndefined();
      const failed = await auditEvents('acme', 'auth.sign_in.failed');
      expect(
        failed.some((e) => e.actor === 'email:bea@acme.test' && e.reason === 'code_invalid'),
      ).toBe(true);
      // The right code still works after one wrong guess, once.
      await stack
        .anonymous()
        .post('/api/v1/auth/acme/email/verify')
        .send({ email: 'bea@acme.test', code })
        .expect(200);
      const reused = await stack
        .anonymous()
        .post('/api/v1/auth/acme/email/verify')
        .send({ email: 'bea@acme.test', code })
        .expect(401);
      expect(reused.body.code).toBe('sign_in_failed');
    });

    it('lets only one of several simultaneous uses of a code through', async () => {
      await createUser('acme', 'kim@acme.test');
      const code = await emailedCode('acme', 'kim@acme.test');
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          stack
            .anonymous()
            .post('/api/v1/auth/acme/email/verify')
            .send({ email: 'kim@acme.test', code }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401]);
    });

    it("does not accept tenant A's code at tenant B, even for the same address", async () => {
      await createUser('acme', 'cid@both.test');
      await createUser('globex', 'cid@both.test');
      const code = await emailedCode('acme', 'cid@both.test');
      await stack
        .anonymous()
        .post('/api/v1/auth/globex/email/verify')
        .send({ email: 'cid@both.test', code })
        .expect(401);
      await stack
        .anonymous()
        .post('/api/v1/auth/acme/email/verify')
        .send({ email: 'cid@both.test', code })
        .expect(200);
    });

    it('answers an unknown address like a known one, sends nothing and audits it', async () => {
      const res = await stack
        .anonymous()
        .post('/api/v1/auth/acme/email/start')
        .send({ email: 'nobody@acme.test' })
        .expect(202);
      expect(Object.keys(res.body)).toEqual(['expiresAt']);
      // A known address in the same request shape, for comparison; its mail arrives.
      await createUser('acme', 'dan@acme.test');
      await emailedCode('acme', 'dan@acme.test');
      await new Promise((r) => setTimeout(r, 300));
      expect(smtp.messages.some((m) => m.to.includes('nobody@acme.test'))).toBe(false);
      const refused = await auditEvents('acme', 'auth.email_code.refused');
      expect(
        refused.some((e) => e.actor === 'email:nobody@acme.test' && e.reason === 'unknown_address'),
      ).toBe(true);
      // Guessing a code for it gets nowhere.
      await stack
        .anonymous()
        .post('/api/v1/auth/acme/email/verify')
        .send({ email: 'nobody@acme.test', code: '123456' })
        .expect(401);
    });

    it('limits codes per address and hour, known or unknown alike (429)', async () => {
      await createUser('acme', 'eli@acme.test');
      for (const email of ['eli@acme.test', 'ghost@acme.test']) {
        for (let i = 0; i < 5; i++) {
          await stack.anonymous().post('/api/v1/auth/acme/email/start').send({ email }).expect(202);
        }
        const limited = await stack
          .anonymous()
          .post('/api/v1/auth/acme/email/start')
          .send({ email })
          .expect(429);
        expect(limited.body.code).toBe('too_many_attempts');
      }
      // The five codes that were sent are all in the captured mail.
      for (let i = 0; i < 5; i++) await smtp.waitForMail('eli@acme.test');
      const refused = await auditEvents('acme', 'auth.email_code.refused');
      expect(refused.filter((e) => e.reason === 'rate_limited').length).toBeGreaterThanOrEqual(2);
    });

    it('refuses emailed codes where the policy turns them off (403)', async () => {
      await createUser('initech', 'fay@initech.test');
      const code = await emailedCode('initech', 'fay@initech.test');
      await stack
        .http()
        .put('/api/v1/tenants/initech/sign-in-policy')
        .send({ emailCodesAllowed: false })
        .expect(200);
      const start = await stack
        .anonymous()
        .post('/api/v1/auth/initech/email/start')
        .send({ email: 'fay@initech.test' })
        .expect(403);
      expect(start.body.code).toBe('sign_in_method_not_allowed');
      // A code sent before the change no longer signs in either.
      const verify = await stack
        .anonymous()
        .post('/api/v1/auth/initech/email/verify')
        .send({ email: 'fay@initech.test', code })
        .expect(403);
      expect(verify.body.code).toBe('sign_in_method_not_allowed');
      await stack
        .http()
        .put('/api/v1/tenants/initech/sign-in-policy')
        .send({ emailCodesAllowed: true })
        .expect(200);
    });
  });

  describe('passwords', () => {
    const password = `correct horse ${randomBytes(6).toString('hex')}`;
    secrets.push(password);

    it('are off by default (403), on by policy: set from a session, then sign in', async () => {
      const id = await createUser('globex', 'gus@globex.test');
      const { cookie } = await signInByEmail('globex', 'gus@globex.test');
      const off = await stack
        .anonymous()
        .post('/api/v1/auth/globex/password')
        .send({ email: 'gus@globex.test', password })
        .expect(403);
      expect(off.body.code).toBe('sign_in_method_not_allowed');
      await stack
        .anonymous()
        .put('/api/v1/me/password')
        .set('Cookie', cookie)
        .send({ newPassword: password })
        .expect(403);

      await stack
        .http()
        .put('/api/v1/tenants/globex/sign-in-policy')
        .send({ passwordsAllowed: true })
        .expect(200);
      const short = await stack
        .anonymous()
        .put('/api/v1/me/password')
        .set('Cookie', cookie)
        .send({ newPassword: 'too short' })
        .expect(400);
      expect(short.body.code).toBe('validation_failed');
      await stack
        .anonymous()
        .put('/api/v1/me/password')
        .set('Cookie', cookie)
        .send({ newPassword: 'x'.repeat(257) })
        .expect(400);
      await stack
        .anonymous()
        .put('/api/v1/me/password')
        .set('Cookie', cookie)
        .send({ newPassword: password })
        .expect(204);
      const set = await auditEvents('globex', 'auth.password.set');
      expect(set.some((e) => e.actor === `user:${id}`)).toBe(true);

      const res = await stack
        .anonymous()
        .post('/api/v1/auth/globex/password')
        .send({ email: 'GUS@globex.test', password })
        .expect(200);
      expect(res.body).toEqual({ secondFactorRequired: false });
      const me = await stack.anonymous().get('/api/v1/me').set('Cookie', cookieOf(res)).expect(200);
      expect(me.body).toMatchObject({ id, authMethod: 'password' });

      // Changing it needs the current one.
      await stack
        .anonymous()
        .put('/api/v1/me/password')
        .set('Cookie', cookie)
        .send({ newPassword: `${password} 2` })
        .expect(400);
      const wrongCurrent = await stack
        .anonymous()
        .put('/api/v1/me/password')
        .set('Cookie', cookie)
        .send({ currentPassword: 'not the password', newPassword: `${password} 2` })
        .expect(400);
      expect(wrongCurrent.body.details.reason).toBe('current_password_invalid');
    });

    it('answers a wrong password and an unknown address the same way', async () => {
      const wrong = await stack
        .anonymous()
        .post('/api/v1/auth/globex/password')
        .send({ email: 'gus@globex.test', password: 'not the password' })
        .expect(401);
      const unknown = await stack
        .anonymous()
        .post('/api/v1/auth/globex/password')
        .send({ email: 'nobody@globex.test', password: 'not the password' })
        .expect(401);
      expect(wrong.body.code).toBe('sign_in_failed');
      expect(unknown.body.code).toBe(wrong.body.code);
      expect(unknown.body.message).toBe(wrong.body.message);
      expect(unknown.body.details).toEqual(wrong.body.details);
      const failed = await auditEvents('globex', 'auth.sign_in.failed');
      expect(
        failed.some((e) => e.actor === 'email:gus@globex.test' && e.reason === 'password_invalid'),
      ).toBe(true);
    });

    it('locks an account out after repeated wrong passwords, the right one included (429)', async () => {
      await createUser('globex', 'hal@globex.test');
      const { cookie } = await signInByEmail('globex', 'hal@globex.test');
      const own = `${password} hal`;
      secrets.push(own);
      await stack
        .anonymous()
        .put('/api/v1/me/password')
        .set('Cookie', cookie)
        .send({ newPassword: own })
        .expect(204);
      for (let i = 0; i < 5; i++) {
        await stack
          .anonymous()
          .post('/api/v1/auth/globex/password')
          .send({ email: 'hal@globex.test', password: `wrong ${i}` })
          .expect(401);
      }
      const locked = await stack
        .anonymous()
        .post('/api/v1/auth/globex/password')
        .send({ email: 'hal@globex.test', password: own })
        .expect(429);
      expect(locked.body.code).toBe('too_many_attempts');
      expect(locked.headers['set-cookie']).toBeUndefined();
      const lockouts = await auditEvents('globex', 'auth.locked_out');
      expect(
        lockouts.some((e) => e.actor === 'email:hal@globex.test' && e.reason === 'locked_out'),
      ).toBe(true);
      // Another user of the tenant is not affected.
      await stack
        .anonymous()
        .post('/api/v1/auth/globex/password')
        .send({ email: 'gus@globex.test', password })
        .expect(200);
    });
  });

  describe('authenticator app and recovery codes', () => {
    const email = 'ivy@umbrella.test';
    let secret = '';
    let recoveryCodes: string[] = [];

    function totpAt(at: number): string {
      return new OTPAuth.TOTP({
        secret: OTPAuth.Secret.fromBase32(secret),
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
      }).generate({ timestamp: at });
    }

    async function secondFactor(cookie: string, body: object, status: number): Promise<Response> {
      return stack
        .anonymous()
        .post('/api/v1/auth/second-factor')
        .set('Cookie', cookie)
        .send(body)
        .expect(status);
    }

    it('enrols: a secret shown once, confirmed with a first code, recovery codes returned', async () => {
      const id = await createUser('umbrella', email);
      const { cookie } = await signInByEmail('umbrella', email);
      const started = await stack
        .anonymous()
        .post('/api/v1/me/second-factor/totp')
        .set('Cookie', cookie)
        .expect(201);
      secret = started.body.secret;
      secrets.push(secret);
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(started.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
      expect(started.body.otpauthUrl).toContain(`secret=${secret}`);
      // Not confirmed yet: it does not count, and a wrong code does not confirm it.
      const wrong = await stack
        .anonymous()
        .post('/api/v1/me/second-factor/totp/confirm')
        .set('Cookie', cookie)
        .send({ code: otherCode(totpAt(Date.now())) })
        .expect(401);
      expect(wrong.body.details.reason).toBe('totp_invalid');
      const confirmed = await stack
        .anonymous()
        .post('/api/v1/me/second-factor/totp/confirm')
        .set('Cookie', cookie)
        .send({ code: totpAt(Date.now()) })
        .expect(200);
      recoveryCodes = confirmed.body.recoveryCodes;
      secrets.push(...recoveryCodes);
      expect(recoveryCodes).toHaveLength(10);
      for (const c of recoveryCodes) expect(c).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
      // The session was confirmed and got a new token; the old one is gone.
      const confirmedCookie = cookieOf(confirmed);
      const me = await stack
        .anonymous()
        .get('/api/v1/me')
        .set('Cookie', confirmedCookie)
        .expect(200);
      expect(me.body.secondFactor).toBe(true);
      await stack.anonymous().get('/api/v1/me').set('Cookie', cookie).expect(401);
      const enrolled = await auditEvents('umbrella', 'auth.second_factor.enrolled');
      expect(enrolled.some((e) => e.actor === `user:${id}`)).toBe(true);
      const stored = await stack.app
        .get(UsersRepository)
        .findByEmail((await stack.app.get(TenantsService).getBySlug('umbrella')).id, email);
      expect(stored?.id).toBe(id);
    });

    it('when the tenant requires it, a session is limited until confirmed with a code', async () => {
      await stack
        .http()
        .put('/api/v1/tenants/umbrella/sign-in-policy')
        .send({ requireSecondFactor: true })
        .expect(200);
      const pending = await signInByEmail('umbrella', email);
      expect(pending.secondFactorRequired).toBe(true);
      const blocked = await stack
        .anonymous()
        .get('/api/v1/sessions')
        .set('Cookie', pending.cookie)
        .expect(403);
      expect(blocked.body.code).toBe('second_factor_required');
      const me = await stack
        .anonymous()
        .get('/api/v1/me')
        .set('Cookie', pending.cookie)
        .expect(200);
      expect(me.body.secondFactorRequired).toBe(true);

      // A stolen first factor cannot swap the authenticator, nor remove it.
      const reenrol = await stack
        .anonymous()
        .post('/api/v1/me/second-factor/totp')
        .set('Cookie', pending.cookie)
        .expect(403);
      expect(reenrol.body.code).toBe('second_factor_required');
      const refusals = await auditEvents('umbrella', 'auth.second_factor.failed');
      expect(refusals.some((e) => e.reason === 'replace_refused')).toBe(true);
      await stack
        .anonymous()
        .delete('/api/v1/me/second-factor')
        .set('Cookie', pending.cookie)
        .expect(403);

      // The next time step's code (the current one was used to confirm the enrolment).
      const code = totpAt(Date.now() + 30_000);
      const ok = await secondFactor(pending.cookie, { code }, 200);
      expect(ok.body).toEqual({ secondFactorRequired: false });
      const confirmed = cookieOf(ok);
      await stack.anonymous().get('/api/v1/sessions').set('Cookie', confirmed).expect(200);
      const old = await stack
        .anonymous()
        .get('/api/v1/sessions')
        .set('Cookie', pending.cookie)
        .expect(401);
      expect(old.body.code).toBe('session_expired');
      const succeeded = await auditEvents('umbrella', 'auth.second_factor.succeeded');
      expect(succeeded.some((e) => e.details.method === 'totp')).toBe(true);

      // The same code again, from another session: refused as a replay.
      const other = await signInByEmail('umbrella', email);
      const replayed = await secondFactor(other.cookie, { code }, 401);
      expect(replayed.body.details.reason).toBe('totp_replayed');
      const failed = await auditEvents('umbrella', 'auth.second_factor.failed');
      expect(failed.some((e) => e.reason === 'totp_replayed')).toBe(true);
      await stack.anonymous().get('/api/v1/sessions').set('Cookie', other.cookie).expect(403);
    });

    it('takes a recovery code once', async () => {
      const first = await signInByEmail('umbrella', email);
      const recovery = recoveryCodes[0] ?? '';
      const ok = await secondFactor(first.cookie, { recoveryCode: recovery.toLowerCase() }, 200);
      expect(ok.body).toEqual({ secondFactorRequired: false, recoveryCodesLeft: 9 });
      await stack.anonymous().get('/api/v1/sessions').set('Cookie', cookieOf(ok)).expect(200);

      const second = await signInByEmail('umbrella', email);
      const again = await secondFactor(second.cookie, { recoveryCode: recovery }, 401);
      expect(again.body.details.reason).toBe('recovery_code_invalid');
      await stack.anonymous().get('/api/v1/sessions').set('Cookie', second.cookie).expect(403);

      // From the confirmed session the second factor can be removed.
      await stack
        .anonymous()
        .delete('/api/v1/me/second-factor')
        .set('Cookie', cookieOf(ok))
        .expect(204);
      const removed = await auditEvents('umbrella', 'auth.second_factor.removed');
      expect(removed).toHaveLength(1);
    });
    it('asks a user who set up an app for it at every sign-in, even where the tenant does not', async () => {
      await stack
        .http()
        .put('/api/v1/tenants/umbrella/sign-in-policy')
        .send({ requireSecondFactor: false })
        .expect(200);
      const jay = 'jay@umbrella.test';
      await createUser('umbrella', jay);
      const before = await signInByEmail('umbrella', jay);
      expect(before.secondFactorRequired).toBe(false);
      const started = await stack
        .anonymous()
        .post('/api/v1/me/second-factor/totp')
        .set('Cookie', before.cookie)
        .expect(201);
      const own = String(started.body.secret);
      secrets.push(own);
      const codeAt = (at: number) =>
        new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(own) }).generate({ timestamp: at });
      const confirmed = await stack
        .anonymous()
        .post('/api/v1/me/second-factor/totp/confirm')
        .set('Cookie', before.cookie)
        .send({ code: codeAt(Date.now()) })
        .expect(200);
      secrets.push(...(confirmed.body.recoveryCodes as string[]));

      const next = await signInByEmail('umbrella', jay);
      expect(next.secondFactorRequired).toBe(true);
      const held = await stack
        .anonymous()
        .get('/api/v1/sessions')
        .set('Cookie', next.cookie)
        .expect(403);
      expect(held.body.code).toBe('second_factor_required');
      // Nor can the first factor alone remove the app.
      await stack
        .anonymous()
        .delete('/api/v1/me/second-factor')
        .set('Cookie', next.cookie)
        .expect(403);
      const ok = await secondFactor(next.cookie, { code: codeAt(Date.now() + 30_000) }, 200);
      await stack.anonymous().get('/api/v1/sessions').set('Cookie', cookieOf(ok)).expect(200);
    });
  });

  it('never writes a code, password, authenticator secret or recovery code to the logs', () => {
    expect(stack.logs.length).toBeGreaterThan(0);
    const logs = stack.logs.join('\n');
    expect(codes.length).toBeGreaterThan(5);
    for (const code of codes) expect(logs).not.toMatch(new RegExp(`(?<![0-9])${code}(?![0-9])`));
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
