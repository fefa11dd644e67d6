import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { eventually, startSmtpCapture, type SmtpCapture } from '@causeway/testing';
import { verifyWebhookSignature } from '../src/alerts/webhook-signature';
import { AuditService, type AuditRecord } from '../src/audit/audit.service';
import { Clock } from '../src/common/clock';
import { TenantsService } from '../src/tenants/tenants.service';
import { Stack } from './harness';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 that keeps what it got and can fail the next calls. */
async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  failNext: { count: number };
  server: Server;
}> {
  const received: Received[] = [];
  const failNext = { count: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failNext.count > 0) {
        failNext.count -= 1;
        res.writeHead(503).end();
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/causeway`, received, failNext, server };
}

describe('anomaly alerts', () => {
  let stack: Stack;
  let smtp: SmtpCapture;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let acmeId: string;
  let globexId: string;
  let adminCookie: string;
  let webhookSecret: string;
  const secrets: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    receiver = await startReceiver();
    const key = randomBytes(32).toString('base64');
    secrets.push(smtp.auth.pass, key);
    stack = await Stack.start({
      CAUSEWAY_SMTP_URL: `smtp://${smtp.auth.user}:${smtp.auth.pass}@127.0.0.1:${smtp.port}`,
      CAUSEWAY_SMTP_REQUIRE_TLS: 'false',
      CAUSEWAY_MAIL_FROM: 'Causeway <alerts@causeway.test>',
      CAUSEWAY_EMAIL_CODE_KEY: key,
      // The receiver listens on 127.0.0.1 over plain http.
      CAUSEWAY_ALERT_WEBHOOK_ALLOW_PRIVATE: 'true',
      CAUSEWAY_ALERTS_DELIVERY_INTERVAL_MS: '100',
      CAUSEWAY_ALERTS_RETRY_BASE_MS: '100',
    });
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    const tenants = stack.app.get(TenantsService);
    acmeId = (await tenants.getBySlug('acme')).id;
    globexId = (await tenants.getBySlug('globex')).id;
    adminCookie = (await stack.signedIn('acme', 'admin@acme.test', { role: 'admin' })).cookie;
  });

  afterAll(async () => {
    await stack?.close();
    await smtp?.stop();
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  const record = (event: AuditRecord) => stack.app.get(AuditService).record(event);

  async function alerts(tenantId: string, type: string) {
    return stack.app
      .get(DataSource)
      .query<Array<{ actor: string; details: Record<string, unknown> }>>(
        'SELECT actor, details FROM audit_events WHERE tenant_id = $1 AND type = $2 ORDER BY seq',
        [tenantId, type],
      );
  }

  function download(userId: string, ip: string, bytes: number): AuditRecord {
    return {
      tenantId: acmeId,
      type: 'data.file.downloaded',
      outcome: 'success',
      actor: `user:${userId}`,
      ip,
      details: { workspaceId: 'w-1', fileId: 'f-1', bytes, range: null },
    };
  }

  function failedSignIn(tenantId: string, email: string, ip: string): AuditRecord {
    return {
      tenantId,
      type: 'auth.sign_in.failed',
      outcome: 'failure',
      actor: `email:${email}`,
      reason: 'password_invalid',
      ip,
    };
  }

  describe('settings', () => {
    it('lets an admin set a webhook and emails; the signing secret is shown once', async () => {
      const put = await stack
        .anonymous()
        .put('/api/v1/tenants/acme/alert-settings')
        .set('Cookie', adminCookie)
        .send({
          webhookUrl: receiver.url,
          emails: ['SecOps@acme.test'],
          trustedNetworks: ['10.0.0.0/8'],
          volumeFloorBytes: 10_000,
          signInBurstThreshold: 5,
        })
        .expect(200);
      webhookSecret = put.body.webhookSecret as string;
      expect(webhookSecret).toMatch(/^whsec_/);
      secrets.push(webhookSecret);
      expect(put.body).toMatchObject({
        webhookUrl: receiver.url,
        emails: ['secops@acme.test'],
        trustedNetworks: ['10.0.0.0/8'],
        volumeFloorBytes: 10_000,
        volumeMultiplier: 10,
        signInBurstThreshold: 5,
      });
      const get = await stack
        .anonymous()
        .get('/api/v1/tenants/acme/alert-settings')
        .set('Cookie', adminCookie)
        .expect(200);
      expect(get.body.webhookSecret).toBeUndefined();
      expect(get.body.webhookSecretSet).toBe(true);
      expect(JSON.stringify(get.body)).not.toContain(webhookSecret);
      // Changing other settings keeps the secret (not shown again).
      const again = await stack
        .anonymous()
        .put('/api/v1/tenants/acme/alert-settings')
        .set('Cookie', adminCookie)
        .send({ ...get.body, webhookSecretSet: undefined })
        .expect(200);
      expect(again.body.webhookSecret).toBeUndefined();
      const changed = await alerts(acmeId, 'config.alert_settings.changed');
      expect(changed).toHaveLength(2);
      expect(JSON.stringify(changed)).not.toContain(webhookSecret);
    });

    it('refuses a webhook URL with credentials or another scheme, even with internal targets allowed', async () => {
      for (const webhookUrl of ['https://user:pw@hooks.example.com/x', 'ftp://127.0.0.1/x']) {
        const res = await stack
          .anonymous()
          .put('/api/v1/tenants/acme/alert-settings')
          .set('Cookie', adminCookie)
          .send({ webhookUrl, emails: [] })
          .expect(400);
        expect(res.body.code).toBe('validation_failed');
      }
      const get = await stack
        .anonymous()
        .get('/api/v1/tenants/acme/alert-settings')
        .set('Cookie', adminCookie)
        .expect(200);
      expect(get.body.webhookUrl).toBe(receiver.url);
    });

    it('refuses a member (403) and answers another tenant like a missing one (404)', async () => {
      const member = await stack.signedIn('acme', 'mo@acme.test', { role: 'member' });
      await stack
        .anonymous()
        .put('/api/v1/tenants/acme/alert-settings')
        .set('Cookie', member.cookie)
        .send({ webhookUrl: null, emails: [] })
        .expect(403);
      const globexAdmin = await stack.signedIn('globex', 'admin@globex.test', { role: 'admin' });
      await stack
        .anonymous()
        .get('/api/v1/tenants/acme/alert-settings')
        .set('Cookie', globexAdmin.cookie)
        .expect(404);
      await stack
        .anonymous()
        .put('/api/v1/tenants/acme/alert-settings')
        .set('Cookie', globexAdmin.cookie)
        .send({ webhookUrl: null, emails: [] })
        .expect(404);
      // Globex's own settings are its own: nothing of acme's shows.
      const own = await stack
        .anonymous()
        .get('/api/v1/tenants/globex/alert-settings')
        .set('Cookie', globexAdmin.cookie)
        .expect(200);
      expect(own.body).toMatchObject({ webhookUrl: null, emails: [], webhookSecretSet: false });
    });
  });

  describe('rule: download from outside the trusted networks', () => {
    it('stays quiet for downloads from inside the networks', async () => {
      await record(download('u-inside', '10.1.2.3', 100));
      await record(download('u-inside', '::ffff:10.9.9.9', 100));
      expect(await alerts(acmeId, 'alert.download.outside_networks')).toHaveLength(0);
    });

    it('fires, records the alert, and delivers a signed webhook (after retries) and an email', async () => {
      receiver.failNext.count = 2;
      await record(download('u-away', '203.0.113.9', 100));
      const recorded = await alerts(acmeId, 'alert.download.outside_networks');
      expect(recorded).toHaveLength(1);
      expect(recorded[0]).toMatchObject({
        actor: 'system:alerts',
        details: { rule: 'download.outside_networks', user: 'user:u-away', address: '203.0.113.9' },
      });
      const alertId = recorded[0]?.details.alertId as string;

      const hook = await eventually(() => receiver.received.find((r) => r.body.includes(alertId)), {
        timeoutMs: 15_000,
        what: 'the webhook call',
      });
      const signature = hook.headers['causeway-signature'] as string;
      expect(verifyWebhookSignature(webhookSecret, signature, hook.body, new Date())).toBe(true);
      const tampered = hook.body.replace('203.0.113.9', '10.0.0.1');
      expect(verifyWebhookSignature(webhookSecret, signature, tampered, new Date())).toBe(false);
      expect(JSON.parse(hook.body)).toMatchObject({
        id: alertId,
        type: 'alert.download.outside_networks',
        tenant: 'acme',
        subject: 'user:u-away@203.0.113.9',
      });
      expect(hook.body).not.toContain(webhookSecret);

      const mail = await smtp.waitForMail('secops@acme.test', 15_000);
      expect(mail.subject).toContain('Download from outside the trusted networks');
      expect(mail.text).toContain(alertId);
      for (const s of secrets) expect(mail.text).not.toContain(s);

      // The receiver sees the call before the deliverer records its answer: wait for the record.
      const rows = await eventually(
        async () => {
          const found = await stack.app
            .get(DataSource)
            .query<Array<{ channel: string; attempts: number; delivered: boolean }>>(
              `SELECT channel, attempts, delivered_at IS NOT NULL AS delivered FROM alert_deliveries
               WHERE alert_id = $1 ORDER BY channel`,
              [alertId],
            );
          return found.length === 2 && found.every((r) => r.delivered) ? found : undefined;
        },
        { timeoutMs: 15_000, what: 'both deliveries recorded as delivered' },
      );
      expect(rows).toEqual([
        { channel: 'email', attempts: 1, delivered: true },
        { channel: 'webhook', attempts: 3, delivered: true },
      ]);
    });

    it('raises one alert per user and address within the cool-down', async () => {
      for (let i = 0; i < 5; i += 1) await record(download('u-away', '203.0.113.9', 100));
      expect(await alerts(acmeId, 'alert.download.outside_networks')).toHaveLength(1);
    });
  });

  describe("rule: a user's download volume far above their baseline", () => {
    it('stays quiet under the limit and fires once above it', async () => {
      await record(download('u-heavy', '10.0.0.5', 4_000));
      await record(download('u-heavy', '10.0.0.5', 4_000));
      await record(download('u-light', '10.0.0.6', 4_000));
      expect(await alerts(acmeId, 'alert.download.volume')).toHaveLength(0);
      await record(download('u-heavy', '10.0.0.5', 4_000));
      const fired = await alerts(acmeId, 'alert.download.volume');
      expect(fired).toHaveLength(1);
      expect(fired[0]?.details).toMatchObject({
        user: 'user:u-heavy',
        windowBytes: 12_000,
        limitBytes: 10_000,
      });
      await record(download('u-heavy', '10.0.0.5', 4_000));
      expect(await alerts(acmeId, 'alert.download.volume')).toHaveLength(1);
    });
  });

  describe('rule: burst of failed sign-ins', () => {
    it('stays quiet for a few failures, fires at the threshold for one account, once', async () => {
      for (let i = 0; i < 4; i += 1) {
        await record(failedSignIn(acmeId, 'bob@acme.test', `198.51.100.${i + 1}`));
      }
      expect(await alerts(acmeId, 'alert.sign_in.burst')).toHaveLength(0);
      await record(failedSignIn(acmeId, 'bob@acme.test', '198.51.100.5'));
      for (let i = 0; i < 10; i += 1) {
        await record(failedSignIn(acmeId, 'bob@acme.test', `198.51.100.${i + 10}`));
      }
      const fired = await alerts(acmeId, 'alert.sign_in.burst');
      expect(fired).toHaveLength(1);
      expect(fired[0]?.details).toMatchObject({ by: 'account', subject: 'email:bob@acme.test' });
    });

    it('fires for one address trying many accounts', async () => {
      for (let i = 0; i < 4; i += 1) {
        await record(failedSignIn(acmeId, `user${i}@acme.test`, '192.0.2.77'));
      }
      // Four accounts from one address, each tried once: under the threshold (5), quiet.
      expect(await alerts(acmeId, 'alert.sign_in.burst')).toHaveLength(1);
      await record(failedSignIn(acmeId, 'user4@acme.test', '192.0.2.77'));
      const fired = await alerts(acmeId, 'alert.sign_in.burst');
      expect(fired.map((f) => f.details.subject)).toEqual(['email:bob@acme.test', 'ip:192.0.2.77']);
    });

    it("keeps tenants apart: another tenant's burst alerts there only, with its own thresholds", async () => {
      const before = receiver.received.length;
      // Globex keeps the default threshold (10): 9 failures are quiet, the 10th fires.
      for (let i = 0; i < 9; i += 1) {
        await record(failedSignIn(globexId, 'eve@globex.test', `203.0.113.${i + 50}`));
      }
      expect(await alerts(globexId, 'alert.sign_in.burst')).toHaveLength(0);
      await record(failedSignIn(globexId, 'eve@globex.test', '203.0.113.99'));
      expect(await alerts(globexId, 'alert.sign_in.burst')).toHaveLength(1);
      // Acme's alerts stay acme's; globex has no webhook, so acme's receiver got nothing new.
      expect(JSON.stringify(await alerts(acmeId, 'alert.sign_in.burst'))).not.toContain(
        'eve@globex.test',
      );
      const pending = await stack.app
        .get(DataSource)
        .query<Array<{ n: string }>>(
          'SELECT COUNT(*) AS n FROM alert_deliveries WHERE tenant_id = $1',
          [globexId],
        );
      expect(Number(pending[0]?.n)).toBe(0);
      expect(receiver.received.slice(before).every((r) => !r.body.includes('globex'))).toBe(true);
    });

    it('stays quiet about download addresses for a tenant with neither trusted networks nor an allow-list', async () => {
      await record({ ...download('u-far', '203.0.113.77', 100), tenantId: globexId });
      expect(await alerts(globexId, 'alert.download.outside_networks')).toHaveLength(0);
    });
  });

  describe('cool-down', () => {
    it('lets the same rule fire again for the same user and address once the cool-down is over, not before', async () => {
      const clock = stack.app.get(Clock);
      const cooldownMs = stack.config.alerts.cooldownMs;
      let offsetMs = 0;
      // Real time moved on by `offsetMs`, so the database sees the events in order.
      const now = jest
        .spyOn(clock, 'now')
        .mockImplementation(() => new Date(Date.now() + offsetMs));
      const fired = async () =>
        (await alerts(acmeId, 'alert.download.outside_networks')).filter(
          (a) => a.details.subject === 'user:u-roam@198.51.100.200',
        ).length;
      try {
        await record(download('u-roam', '198.51.100.200', 100));
        expect(await fired()).toBe(1);
        offsetMs = cooldownMs - 60_000;
        await record(download('u-roam', '198.51.100.200', 100));
        expect(await fired()).toBe(1);
        offsetMs = cooldownMs + 60_000;
        await record(download('u-roam', '198.51.100.200', 100));
        expect(await fired()).toBe(2);
        // The second alert started a new cool-down.
        await record(download('u-roam', '198.51.100.200', 100));
        expect(await fired()).toBe(2);
      } finally {
        now.mockRestore();
      }
    });
  });

  describe('logs', () => {
    it('never contain a secret', () => {
      const log = stack.logs.join('\n');
      for (const s of secrets) expect(log).not.toContain(s);
    });
  });
});

describe('anomaly alerts: webhook targets inside the network (the default: refused)', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let tenantId: string;
  let adminCookie: string;
  let connections = 0;

  beforeAll(async () => {
    receiver = await startReceiver();
    receiver.server.on('connection', () => (connections += 1));
    // CAUSEWAY_ALERT_WEBHOOK_ALLOW_PRIVATE is left at its default (false).
    stack = await Stack.start({
      CAUSEWAY_ALERTS_DELIVERY_INTERVAL_MS: '100',
      CAUSEWAY_ALERTS_RETRY_BASE_MS: '50',
    });
    await stack.createTenant('initech');
    tenantId = (await stack.app.get(TenantsService).getBySlug('initech')).id;
    adminCookie = (await stack.signedIn('initech', 'admin@initech.test', { role: 'admin' })).cookie;
  });

  afterAll(async () => {
    await stack?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  const put = (body: Record<string, unknown>) =>
    stack
      .anonymous()
      .put('/api/v1/tenants/initech/alert-settings')
      .set('Cookie', adminCookie)
      .send({ emails: [], ...body });

  it.each([
    ['loopback', () => 'http://127.0.0.1/hooks'],
    ['loopback over https', () => 'https://127.0.0.1:8443/hooks'],
    ['cloud metadata', () => 'http://169.254.169.254/'],
    ['cloud metadata over https', () => 'https://169.254.169.254/latest/meta-data/'],
    ['IPv4-mapped private', () => 'http://[::ffff:10.0.0.1]/'],
    ['IPv4-mapped private over https', () => 'https://[::ffff:10.0.0.1]/'],
    ['a name resolving to loopback', () => `https://localhost:${new URL(receiver.url).port}/x`],
    ['the test receiver', () => receiver.url],
    ['plain http to a public name', () => 'http://hooks.example.com/x'],
  ])('refuses %s with webhook_url_not_allowed', async (_what, url) => {
    const res = await put({ webhookUrl: url() }).expect(400);
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      details: { reason: 'webhook_url_not_allowed' },
    });
    expect(res.body.message).toMatch(/^The webhook URL (must use https|points at .+ address)/);
  });

  it('stored nothing for the refused URLs', async () => {
    const get = await stack
      .anonymous()
      .get('/api/v1/tenants/initech/alert-settings')
      .set('Cookie', adminCookie)
      .expect(200);
    expect(get.body).toMatchObject({ webhookUrl: null, webhookSecretSet: false });
    const db = stack.app.get(DataSource);
    const changed = await db.query<unknown[]>(
      `SELECT 1 FROM audit_events WHERE tenant_id = $1 AND type = 'config.alert_settings.changed'`,
      [tenantId],
    );
    expect(changed).toHaveLength(0);
  });

  it('refuses at delivery a stored target that now points inside: a failed attempt, no request', async () => {
    // A public literal address is accepted (no DNS needed) ...
    await put({
      webhookUrl: 'https://93.184.215.14/hooks',
      trustedNetworks: ['10.0.0.0/8'],
    }).expect(200);
    // ... then the target points inside, as after a DNS change or with settings saved while
    // the operator allowed internal targets.
    const db = stack.app.get(DataSource);
    const inside = `https://localhost:${new URL(receiver.url).port}/hooks/causeway`;
    await db.query('UPDATE alert_settings SET webhook_url = $2 WHERE tenant_id = $1', [
      tenantId,
      inside,
    ]);
    await stack.app.get(AuditService).record({
      tenantId,
      type: 'data.file.downloaded',
      outcome: 'success',
      actor: 'user:u-abroad',
      ip: '198.51.100.23',
      details: { workspaceId: 'w-1', fileId: 'f-1', bytes: 10, range: null },
    });
    const recorded = await db.query<Array<{ details: { alertId: string } }>>(
      `SELECT details FROM audit_events WHERE tenant_id = $1 AND type = 'alert.download.outside_networks'`,
      [tenantId],
    );
    expect(recorded).toHaveLength(1);
    const alertId = recorded[0]?.details.alertId;

    // Every try fails as refused; after the last, the failure is itself recorded.
    const failed = await eventually(
      async () => {
        const rows = await db.query<Array<{ details: Record<string, unknown> }>>(
          `SELECT details FROM audit_events WHERE tenant_id = $1 AND type = 'alert.delivery.failed'`,
          [tenantId],
        );
        return rows[0];
      },
      { timeoutMs: 30_000, what: 'alert.delivery.failed' },
    );
    expect(failed.details).toMatchObject({
      alertId,
      channel: 'webhook',
      attempts: stack.config.alerts.maxAttempts,
    });
    expect(failed.details.error).toMatch(
      /^webhook refused: The webhook URL points at localhost \((127\.0\.0\.1|::1)\), a loopback address/,
    );
    const deliveries = await db.query<
      Array<{ attempts: number; delivered: boolean; gave_up: boolean; last_error: string }>
    >(
      `SELECT attempts, delivered_at IS NOT NULL AS delivered, gave_up_at IS NOT NULL AS gave_up,
              last_error FROM alert_deliveries WHERE alert_id = $1`,
      [alertId],
    );
    expect(deliveries).toEqual([
      {
        attempts: stack.config.alerts.maxAttempts,
        delivered: false,
        gave_up: true,
        last_error: expect.stringMatching(/^webhook refused: /) as unknown,
      },
    ]);
    // Refused before connecting: not even a TCP connection reached the receiver.
    expect(connections).toBe(0);
    expect(receiver.received).toEqual([]);
  });
});
