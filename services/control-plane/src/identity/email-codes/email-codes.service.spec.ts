import { randomBytes } from 'node:crypto';
import { startSmtpCapture, type SmtpCapture } from '@causeway/testing';
import { ManualClock } from '../../common/clock';
import { InMemoryThrottleStore, Throttle } from '../mfa/throttle';
import { InMemoryEmailCodeStore } from './email-code.store';
import { EmailCodesError } from './email-codes.errors';
import { EmailCodeService } from './email-codes.service';
import { renderSignInCode, SmtpMailer } from './mailer';
import { asCausewayError } from '../../common/domain-errors';

const acme = { id: 'tenant-acme', name: 'Acme <Ops>' };

function codeFrom(text: string): string {
  const match = /\b(\d{6,8})\b/.exec(text);
  if (!match) throw new Error(`no code in mail: ${text}`);
  return match[1];
}

describe('EmailCodeService over a real SMTP server', () => {
  let smtp: SmtpCapture;
  let mailer: SmtpMailer;
  let clock: ManualClock;
  let store: InMemoryEmailCodeStore;
  let service: EmailCodeService;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    mailer = new SmtpMailer({
      host: smtp.host,
      port: smtp.port,
      secure: false,
      auth: smtp.auth,
      from: 'Causeway <no-reply@causeway.test>',
    });
  });

  afterAll(async () => {
    mailer.close();
    await smtp.stop();
  });

  beforeEach(() => {
    clock = new ManualClock('2026-03-01T09:00:00Z');
    store = new InMemoryEmailCodeStore();
    service = new EmailCodeService(store, mailer, clock, {
      hmacKey: randomBytes(32),
      maxAttempts: 3,
      maxCodesPerHour: 3,
    });
  });

  async function issueAndRead(email: string): Promise<string> {
    await service.issue(acme, email);
    const mail = await smtp.waitForMail(email);
    return codeFrom(mail.text);
  }

  it('sends a code that is read from the captured mail and verifies once', async () => {
    const { expiresAt } = await service.issue(acme, 'Ada@Example.com ');
    expect(expiresAt).toEqual(new Date(clock.now().getTime() + 10 * 60_000));
    const mail = await smtp.waitForMail('ada@example.com');
    expect(mail.subject).toBe('Your sign-in code for Acme <Ops>');
    expect(mail.from).toBe('no-reply@causeway.test');
    const code = codeFrom(mail.text);
    expect(code).toMatch(/^\d{6}$/);
    expect(mail.html).toContain(code);
    expect(mail.html).toContain('Acme &#60;Ops&#62;');
    expect(mail.html).not.toContain('<Ops>');
    expect(mail.html).not.toMatch(/href=|<img/i);

    await expect(service.verify(acme.id, 'ada@example.com', code)).resolves.toBeUndefined();
    // Single use.
    await expect(service.verify(acme.id, 'ada@example.com', code)).rejects.toMatchObject({
      code: 'code_invalid',
    });
  });

  it('stores only a hash of the code', async () => {
    const code = await issueAndRead('hash@example.com');
    const record = await store.latest(acme.id, 'hash@example.com');
    expect(record?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(record)).not.toContain(code);
  });

  it('refuses a wrong code', async () => {
    const code = await issueAndRead('wrong@example.com');
    const wrong = code === '000000' ? '000001' : '000000';
    const error = await service
      .verify(acme.id, 'wrong@example.com', wrong)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmailCodesError);
    expect(error).toMatchObject({ code: 'code_invalid' });
    expect(asCausewayError(error)).toMatchObject({
      code: 'sign_in_failed',
      status: 401,
      details: { reason: 'code_invalid' },
    });
    expect((error as Error).message).not.toContain(wrong);
    // The right code still works after one wrong guess.
    await expect(service.verify(acme.id, 'wrong@example.com', code)).resolves.toBeUndefined();
  });

  it('refuses an expired code', async () => {
    const code = await issueAndRead('late@example.com');
    clock.advance(10 * 60_000);
    await expect(service.verify(acme.id, 'late@example.com', code)).rejects.toMatchObject({
      code: 'code_expired',
    });
  });

  it('locks a code after too many wrong attempts, even for the right code', async () => {
    const code = await issueAndRead('guess@example.com');
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 3; i++) {
      await expect(service.verify(acme.id, 'guess@example.com', wrong)).rejects.toMatchObject({
        code: 'code_invalid',
      });
    }
    await expect(service.verify(acme.id, 'guess@example.com', code)).rejects.toMatchObject({
      code: 'too_many_attempts',
    });
  });

  it('rate-limits codes per address per hour', async () => {
    for (let i = 0; i < 3; i++) await issueAndRead('busy@example.com');
    await expect(service.issue(acme, 'busy@example.com')).rejects.toMatchObject({
      code: 'rate_limited',
    });
    // Other addresses and other tenants have their own limits.
    await expect(issueAndRead('calm@example.com')).resolves.toMatch(/^\d{6}$/);
    await service.issue({ id: 'tenant-other', name: 'Other' }, 'busy@example.com');
    await smtp.waitForMail('busy@example.com');
    clock.advance(60 * 60_000);
    await expect(issueAndRead('busy@example.com')).resolves.toMatch(/^\d{6}$/);
  });

  it('retires the previous code when a new one is issued', async () => {
    const first = await issueAndRead('twice@example.com');
    const second = await issueAndRead('twice@example.com');
    if (first !== second) {
      await expect(service.verify(acme.id, 'twice@example.com', first)).rejects.toMatchObject({
        code: 'code_invalid',
      });
    }
    await expect(service.verify(acme.id, 'twice@example.com', second)).resolves.toBeUndefined();
  });

  it("does not accept one tenant's code in another tenant", async () => {
    const code = await issueAndRead('both@example.com');
    await expect(service.verify('tenant-other', 'both@example.com', code)).rejects.toMatchObject({
      code: 'code_invalid',
    });
  });

  it('locks the address across codes when a throttle is given', async () => {
    const throttled = new EmailCodeService(
      store,
      mailer,
      clock,
      { hmacKey: randomBytes(32), maxAttempts: 5, maxCodesPerHour: 10 },
      new Throttle(new InMemoryThrottleStore(), clock, { maxFailures: 2, lockoutMs: 60_000 }),
    );
    await throttled.issue(acme, 'spray@example.com');
    const code = codeFrom((await smtp.waitForMail('spray@example.com')).text);
    const wrong = code === '000000' ? '000001' : '000000';
    await expect(throttled.verify(acme.id, 'spray@example.com', wrong)).rejects.toMatchObject({
      code: 'code_invalid',
    });
    await expect(throttled.verify(acme.id, 'spray@example.com', wrong)).rejects.toMatchObject({
      code: 'code_invalid',
    });
    await expect(throttled.verify(acme.id, 'spray@example.com', code)).rejects.toMatchObject({
      code: 'too_many_attempts',
    });
    clock.advance(60_000);
    await expect(throttled.verify(acme.id, 'spray@example.com', code)).resolves.toBeUndefined();
  });

  it('supports 8-digit codes', async () => {
    const eight = new EmailCodeService(store, mailer, clock, {
      hmacKey: randomBytes(32),
      digits: 8,
    });
    await eight.issue(acme, 'eight@example.com');
    const code = codeFrom((await smtp.waitForMail('eight@example.com')).text);
    expect(code).toMatch(/^\d{8}$/);
    await expect(eight.verify(acme.id, 'eight@example.com', code)).resolves.toBeUndefined();
  });

  it('refuses bad configuration and bad addresses', async () => {
    expect(() => new EmailCodeService(store, mailer, clock, { hmacKey: randomBytes(16) })).toThrow(
      RangeError,
    );
    expect(
      () => new EmailCodeService(store, mailer, clock, { hmacKey: randomBytes(32), digits: 4 }),
    ).toThrow(RangeError);
    await expect(service.issue(acme, 'not an address')).rejects.toMatchObject({
      code: 'email_invalid',
    });
  });
});

describe('SmtpMailer failures', () => {
  it('reports a refused message as mail_failed without the code or credentials', async () => {
    const smtp = await startSmtpCapture({ rejectWith: 'Mailbox unavailable' });
    const mailer = new SmtpMailer({
      host: smtp.host,
      port: smtp.port,
      secure: false,
      auth: smtp.auth,
      from: 'no-reply@causeway.test',
    });
    try {
      const error = await mailer
        .sendSignInCode('x@example.com', {
          tenantName: 'Acme',
          code: '123456',
          expiresInMinutes: 10,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EmailCodesError);
      expect(error).toMatchObject({ code: 'mail_failed' });
      const message = (error as Error).message;
      expect(message).toContain('SMTP reply 554');
      expect(message).not.toContain('123456');
      expect(message).not.toContain(smtp.auth.pass);
    } finally {
      mailer.close();
      await smtp.stop();
    }
  });

  it('reports wrong credentials as mail_failed', async () => {
    const smtp = await startSmtpCapture();
    const mailer = new SmtpMailer({
      host: smtp.host,
      port: smtp.port,
      secure: false,
      auth: { user: smtp.auth.user, pass: 'wrong-password' },
      from: 'no-reply@causeway.test',
    });
    try {
      const error = await mailer
        .sendSignInCode('x@example.com', {
          tenantName: 'Acme',
          code: '123456',
          expiresInMinutes: 10,
        })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'mail_failed' });
      expect((error as Error).message).toContain('EAUTH');
      expect((error as Error).message).not.toContain('wrong-password');
    } finally {
      mailer.close();
      await smtp.stop();
    }
  });

  it('reports an unreachable server as mail_failed', async () => {
    const smtp = await startSmtpCapture();
    const port = smtp.port;
    await smtp.stop();
    const mailer = new SmtpMailer({
      host: '127.0.0.1',
      port,
      secure: false,
      from: 'no-reply@causeway.test',
      timeoutMs: 2_000,
    });
    await expect(
      mailer.sendSignInCode('x@example.com', { tenantName: 'A', code: '1', expiresInMinutes: 1 }),
    ).rejects.toMatchObject({ code: 'mail_failed' });
  });
});

describe('renderSignInCode', () => {
  it('contains the code and the tenant name and nothing else that varies', () => {
    const a = renderSignInCode({ tenantName: 'Acme', code: '111111', expiresInMinutes: 10 });
    const b = renderSignInCode({ tenantName: 'Acme', code: '222222', expiresInMinutes: 10 });
    expect(a.text.replace('111111', '')).toBe(b.text.replace('222222', ''));
    expect(a.html.replace('111111', '')).toBe(b.html.replace('222222', ''));
  });

  it('keeps a hostile tenant name on one line and escaped', () => {
    const r = renderSignInCode({
      tenantName: 'Evil\r\nBcc: all@example.com <script>',
      code: '123456',
      expiresInMinutes: 10,
    });
    expect(r.subject).not.toMatch(/[\r\n]/);
    expect(r.html).not.toContain('<script>');
  });
});
