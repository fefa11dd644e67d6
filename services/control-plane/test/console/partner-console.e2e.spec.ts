import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as OTPAuth from 'otpauth';
import type { FileChooser, Page } from 'playwright-core';
import {
  launchTestBrowser,
  startSmtpCapture,
  type SmtpCapture,
  type TestBrowser,
} from '@causeway/testing';
import { CONSOLE_CSP } from '../../src/console/console.routes';
import { Stack } from '../harness';

const REPO = join(__dirname, '..', '..', '..', '..');
const CONSOLE_DIST = join(REPO, 'apps', 'console', 'dist');
/** Kept after the run (git-ignored with the rest of .causeway/). */
const SCREENSHOTS = join(REPO, '.causeway', 'artifacts', 'console');

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The partner console end to end: the built app (apps/console/dist) served by a real control
 * plane, a real node process storing the files, a real SMTP server the sign-in code is read
 * from, and Debian's headless Chromium driven by playwright-core, used the way a partner uses it.
 */
describe('partner console in headless Chromium (real control plane, node, SMTP)', () => {
  let stack: Stack;
  let smtp: SmtpCapture;
  let browser: TestBrowser;
  let page: Page;
  let ws: string;
  let ownerCookie: string;
  const partner = 'ada@partnerco.test';
  /** Console errors the page logged: a CSP violation shows up here. */
  const pageErrors: string[] = [];
  const chooserWaiters: Array<(chooser: FileChooser) => void> = [];
  const nextFileChooser = () => new Promise<FileChooser>((resolve) => chooserWaiters.push(resolve));
  /** Answers of 500 and more the page received: none is expected. */
  const serverErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(CONSOLE_DIST, 'index.html'))) {
      throw new Error('the console is not built: run `npm run build` (it builds apps/console)');
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    smtp = await startSmtpCapture();
    stack = await Stack.start({
      CAUSEWAY_SMTP_URL: `smtp://${encodeURIComponent(smtp.auth.user)}:${encodeURIComponent(smtp.auth.pass)}@127.0.0.1:${smtp.port}`,
      CAUSEWAY_SMTP_REQUIRE_TLS: 'false',
      CAUSEWAY_MAIL_FROM: 'Causeway <no-reply@causeway.test>',
      CAUSEWAY_EMAIL_CODE_KEY: randomBytes(32).toString('base64'),
    });
    await stack.createTenant('acme');
    const nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    ws = await stack.readyWorkspace('acme', 'Shared with Partnerco', nodeId);
    ownerCookie = (await stack.signedIn('acme', 'owner@acme.test', { role: 'owner' })).cookie;
    // Invited as a partner would be: the invitation creates the account and the role.
    await stack
      .anonymous()
      .post(`/api/v1/tenants/acme/workspaces/${ws}/invitations`)
      .set('Cookie', ownerCookie)
      .send({ email: partner, role: 'partner-editor' })
      .expect(201);
    // The invitation mail, so that the next mail to the partner is the sign-in code.
    expect((await smtp.waitForMail(partner)).subject).toMatch(/invites you/i);

    browser = await launchTestBrowser();
    page = await browser.context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Subscribed once, well before any click: Playwright turns the browser's file-chooser
    // interception on asynchronously, and a chooser opened before that is never reported.
    page.on('filechooser', (chooser) => chooserWaiters.shift()?.(chooser));
    page.on('response', (res) => {
      if (res.status() >= 500)
        serverErrors.push(`${res.status()} ${res.request().method()} ${res.url()}`);
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await smtp?.stop();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** Presses Tab until `selector` has the focus; fails if it is not reachable that way. */
  async function tabTo(selector: string, maxPresses = 25): Promise<void> {
    for (let i = 0; i < maxPresses; i += 1) {
      await page.keyboard.press('Tab');
      if (await page.locator(selector).evaluate((el) => el === document.activeElement)) return;
    }
    throw new Error(`${selector} was not reached with ${maxPresses} presses of Tab`);
  }

  /** Records every aria-valuenow a progress bar takes, from the moment it appears. */
  async function watchProgress(): Promise<void> {
    await page.evaluate(() => {
      const w = window as unknown as { progressSeen: Record<string, number[]> };
      w.progressSeen = {};
      const record = (el: Element) => {
        const name = el.getAttribute('aria-label') ?? '';
        const value = Number(el.getAttribute('aria-valuenow'));
        const seen = (w.progressSeen[name] ??= []);
        if (seen[seen.length - 1] !== value) seen.push(value);
      };
      new MutationObserver((mutations) => {
        for (const m of mutations) {
          if (m.target instanceof Element && m.target.getAttribute('role') === 'progressbar') {
            record(m.target);
          }
          m.addedNodes.forEach((n) => {
            if (n instanceof Element) n.querySelectorAll('[role=progressbar]').forEach(record);
          });
        }
      }).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['aria-valuenow'],
      });
    });
  }

  async function progressSeen(label: string): Promise<number[]> {
    return page.evaluate(
      (l) =>
        (window as unknown as { progressSeen: Record<string, number[]> }).progressSeen[l] ?? [],
      label,
    );
  }

  async function expectUploaded(name: string): Promise<void> {
    const bar = page.getByRole('progressbar', { name: `Upload of ${name}` });
    await bar.waitFor();
    await page.waitForFunction(
      (label) =>
        document
          .querySelector(`[role=progressbar][aria-label="${label}"]`)
          ?.getAttribute('aria-valuenow') === '100',
      `Upload of ${name}`,
      { timeout: 60_000 },
    );
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    await page.locator(`tr[data-file="${name}"]`).waitFor();
    const seen = await progressSeen(`Upload of ${name}`);
    // The bar only ever moves forward, and reaches 100 at the end.
    expect(seen[seen.length - 1]).toBe(100);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  }

  async function listed(): Promise<Array<{ fileId: string; name: string; sha256: string }>> {
    const res = await stack
      .anonymous()
      .get(`/api/v1/workspaces/${ws}/files`)
      .set('Cookie', ownerCookie)
      .expect(200);
    return res.body.items as Array<{ fileId: string; name: string; sha256: string }>;
  }

  const report = randomBytes(3 * MiB + 4321);

  it('signs in with the emailed code, using the keyboard only', async () => {
    await page.goto(`${stack.url}/?tenant=acme`);
    await page.waitForURL('**/sign-in');
    await page.getByRole('heading', { name: 'Sign in to acme' }).waitFor();
    await shot('01-sign-in');

    const email = page.getByLabel('Email address');
    await tabTo('input[name=email]');
    await page.keyboard.type(partner);
    await page.keyboard.press('Enter');

    const codeField = page.getByLabel('6-digit code');
    await codeField.waitFor();
    // Focus moves to the code field by itself, so the person can type at once.
    expect(await codeField.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await email.count()).toBe(0);
    await shot('02-sign-in-code');
    const mail = await smtp.waitForMail(partner);
    expect(mail.subject).toMatch(/sign-in code/i);
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
    if (!code) throw new Error(`no code in the mail: ${mail.text}`);
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');

    // The only workspace shared with the partner opens by itself.
    await page.waitForURL(`**/workspaces/${ws}`);
    await page.getByRole('heading', { level: 1, name: 'Shared with Partnerco' }).waitFor();
    await page.getByText('No files yet.').waitFor();
    await shot('03-workspace-empty');
  });

  it('uploads through the keyboard-reachable button: the bar reaches 100 % and the file is listed', async () => {
    await watchProgress();
    await page.locator('h1').focus();
    await tabTo('button:has-text("Upload files")');
    const chooser = nextFileChooser();
    await page.keyboard.press('Enter');
    await (
      await chooser
    ).setFiles({ name: 'report.bin', mimeType: 'application/octet-stream', buffer: report });
    await expectUploaded('report.bin');
    await page.getByRole('status').filter({ hasText: 'Uploaded report.bin.' }).waitFor();
    await shot('04-uploaded');
    const files = await listed();
    expect(files).toEqual([
      expect.objectContaining({ name: 'report.bin', sha256: sha256(report) }),
    ]);
  });

  it('uploads a file dropped onto the workspace', async () => {
    const dropped = randomBytes(MiB + 17);
    const transfer = await page.evaluateHandle(
      ({ base64, name }) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, { type: 'application/octet-stream' }));
        return data;
      },
      { base64: dropped.toString('base64'), name: 'dropped.bin' },
    );
    const zone = page.getByTestId('drop-zone');
    await zone.dispatchEvent('dragenter', { dataTransfer: transfer });
    await zone.dispatchEvent('dragover', { dataTransfer: transfer });
    expect(await zone.getAttribute('class')).toContain('dragging');
    await zone.dispatchEvent('drop', { dataTransfer: transfer });
    await expectUploaded('dropped.bin');
    const file = (await listed()).find((f) => f.name === 'dropped.bin');
    expect(file?.sha256).toBe(sha256(dropped));
  });

  it('downloads the file through the page, byte for byte', async () => {
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download report.bin' }).click();
    const saved = await download;
    expect(saved.suggestedFilename()).toBe('report.bin');
    const path = await saved.path();
    expect(sha256(readFileSync(path))).toBe(sha256(report));
  });

  it('shows the versions of a file uploaded twice, and downloads the older one', async () => {
    const second = randomBytes(200_000);
    await page.locator('input[type=file]').setInputFiles({
      name: 'report.bin',
      mimeType: 'application/octet-stream',
      buffer: second,
    });
    await page
      .locator('tr[data-file="report.bin"] td[data-label=Version]')
      .filter({ hasText: '2' })
      .waitFor();
    await page.getByRole('button', { name: 'Versions report.bin' }).click();
    const older = page.getByRole('link', { name: 'Download version 1 of report.bin' });
    await older.waitFor();
    await page.getByText('Version 2 (current)').waitFor();
    await shot('05-versions');
    const download = page.waitForEvent('download');
    await older.click();
    expect(sha256(readFileSync(await (await download).path()))).toBe(sha256(report));
    await page.getByRole('button', { name: 'Versions report.bin' }).click();
  });

  it('refuses a bad name with a clear message, then renames', async () => {
    await page.getByRole('button', { name: 'Rename report.bin' }).click();
    const field = page.getByLabel('New name for report.bin');
    await field.fill('../x');
    await field.press('Enter');
    const alert = page.getByRole('alert').filter({ hasText: 'That name is not allowed' });
    await alert.waitFor();
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    await shot('06-rename-refused');
    expect((await listed()).map((f) => f.name).sort()).toEqual(['dropped.bin', 'report.bin']);

    await field.fill('final-report.bin');
    await field.press('Enter');
    await page.locator('tr[data-file="final-report.bin"]').waitFor();
    // The form closes once the rename is done.
    await field.waitFor({ state: 'detached' });
    await page
      .getByRole('status')
      .filter({ hasText: 'Renamed report.bin to final-report.bin.' })
      .waitFor();
    expect((await listed()).map((f) => f.name).sort()).toEqual(['dropped.bin', 'final-report.bin']);
  });

  it('says clearly when a file does not fit in the quota, and stores nothing', async () => {
    const probe = await stack
      .anonymous()
      .patch(`/api/v1/tenants/acme/workspaces/${ws}`)
      .set('Cookie', ownerCookie)
      .send({ quotaBytes: 1024 * MiB })
      .expect(200);
    const used = probe.body.usedBytes as number;
    await stack
      .anonymous()
      .patch(`/api/v1/tenants/acme/workspaces/${ws}`)
      .set('Cookie', ownerCookie)
      .send({ quotaBytes: used + 64 * 1024 })
      .expect(200);

    await page.locator('input[type=file]').setInputFiles({
      name: 'too-big.bin',
      mimeType: 'application/octet-stream',
      buffer: randomBytes(MiB),
    });
    const alert = page
      .getByRole('alert')
      .filter({ hasText: "does not fit in the workspace's storage quota" });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(
      /64 KiB of [\d.]+ MiB is free and the file is 1\.0 MiB/,
    );
    await shot('07-quota-exceeded');
    expect((await listed()).map((f) => f.name)).not.toContain('too-big.bin');

    await stack
      .anonymous()
      .patch(`/api/v1/tenants/acme/workspaces/${ws}`)
      .set('Cookie', ownerCookie)
      .send({ quotaBytes: null })
      .expect(200);
  });

  it('deletes a file after a confirmation', async () => {
    await page.getByRole('button', { name: 'Delete final-report.bin' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted final-report.bin.' }).waitFor();
    await page.locator('tr[data-file="final-report.bin"]').waitFor({ state: 'detached' });
    expect((await listed()).map((f) => f.name)).toEqual(['dropped.bin']);
    await shot('08-deleted');
  });

  it('fits a 375 px wide screen without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.reload();
    await page.locator('tr[data-file="dropped.bin"]').waitFor();
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(innerWidth).toBe(375);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await shot('09-workspace-375px');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('ran under the strict Content-Security-Policy, without a violation or a server error', async () => {
    const res = await fetch(`${stack.url}/`);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(pageErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    expect(serverErrors).toEqual([]);
  });

  it('signs out back to the sign-in page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/sign-in');
    await page.goto(`${stack.url}/workspaces/${ws}`);
    await page.waitForURL('**/sign-in');
  });

  it('asks for the second factor after the emailed code when the person has an authenticator app', async () => {
    const email = 'tom@acme.test';
    const enrolling = await stack.signedIn('acme', email, { role: 'member' });
    const started = await stack
      .anonymous()
      .post('/api/v1/me/second-factor/totp')
      .set('Cookie', enrolling.cookie)
      .expect(201);
    const totp = new OTPAuth.TOTP({
      secret: OTPAuth.Secret.fromBase32(started.body.secret as string),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    // Confirmed with the previous step's code, so that the current one is still unused (a code
    // works once). Started with at least 10 s of the step left, so that the step does not end
    // between making the code and the server checking it (the server accepts one step either
    // side of its own, and the confirmation unseals the secret, which takes a while under load).
    const intoStep = Date.now() % 30_000;
    if (intoStep > 20_000) await new Promise((r) => setTimeout(r, 30_000 - intoStep + 100));
    await stack
      .anonymous()
      .post('/api/v1/me/second-factor/totp/confirm')
      .set('Cookie', enrolling.cookie)
      .send({ code: totp.generate({ timestamp: Date.now() - 30_000 }) })
      .expect(200);

    await page.goto(`${stack.url}/?tenant=acme`);
    await page.waitForURL('**/sign-in');
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a code' }).click();
    const mail = await smtp.waitForMail(email);
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
    if (!code) throw new Error(`no code in the mail: ${mail.text}`);
    await page.getByLabel('6-digit code').fill(code);
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { level: 1, name: 'Confirm your sign-in' }).waitFor();
    // Until the second factor is given, the session opens nothing.
    const pending = await page.evaluate(async () => {
      const res = await fetch('/api/v1/sessions');
      return { status: res.status, code: ((await res.json()) as { code?: string }).code };
    });
    expect(pending).toEqual({ status: 403, code: 'second_factor_required' });
    await shot('11-second-factor');
    const field = page.getByLabel('Code from your app');
    await field.fill('000000' === totp.generate() ? '111111' : '000000');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: /code/i }).waitFor();
    await field.fill(totp.generate());
    await page.keyboard.press('Enter');
    await page.waitForURL('**/workspaces**');
    const me = await page.evaluate(
      async () => (await (await fetch('/api/v1/me')).json()) as { email?: string },
    );
    expect(me).toMatchObject({ email });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/sign-in');
  });

  it('tells a partner viewer that their role does not allow a change', async () => {
    const viewer = await stack.signedIn('acme', 'vic@partnerco.test', {
      role: 'partner-viewer',
      kind: 'partner',
      workspaceId: ws,
    });
    const [name, value] = viewer.cookie.split('=') as [string, string];
    await browser.context.addCookies([{ name, value, url: stack.url, httpOnly: true }]);
    await page.goto(`${stack.url}/workspaces/${ws}`);
    await page.getByRole('button', { name: 'Delete dropped.bin' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'Your role in this workspace does not allow this' })
      .waitFor();
    await shot('10-viewer-refused');
    expect((await listed()).map((f) => f.name)).toEqual(['dropped.bin']);
  });
});

describe('serving the console from the control plane', () => {
  let stack: Stack;
  let emptyDir: string;
  let bare: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
    emptyDir = mkdtempSync(join(tmpdir(), 'causeway-console-empty-'));
    bare = await Stack.start({ CAUSEWAY_CONSOLE_DIR: emptyDir });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await bare?.close();
    if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
  });

  it('answers / and the app paths with index.html: no-cache, strict CSP, no inline script', async () => {
    for (const path of ['/', '/sign-in', '/sign-in/second-factor', '/workspaces/abc?folder=/a']) {
      const res = await stack.anonymous().get(path).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.text).toContain('<div id="root">');
      // Every script is a file of the build: the policy forbids inline ones.
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  it('serves the hashed assets with a year-long immutable cache', async () => {
    const html = (await stack.anonymous().get('/').expect(200)).text;
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const res = await stack
      .anonymous()
      .get(script ?? '')
      .expect(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    await stack.anonymous().get('/assets/missing-0000.js').expect(404);
    await stack.anonymous().get('/assets/..%2f..%2fpackage.json').expect(404);
    await stack.anonymous().get('/%2e%2e/package.json').expect(404);
    // index.html itself is only ever the page, with the page's policy.
    const index = await stack.anonymous().get('/index.html').expect(200);
    expect(index.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(index.headers['cache-control']).toBe('no-cache');
    const icon = await stack.anonymous().get('/favicon.svg').expect(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('never shadows the API: unknown API paths stay JSON 404s, health and docs still answer', async () => {
    for (const path of ['/api/v1/no-such-route', '/api', '/auth/x', '/healthz/extra']) {
      const res = await stack.anonymous().get(path).expect(404);
      expect(res.headers['content-type']).toMatch(/json/);
      expect(res.body.code).toBe('not_found');
    }
    expect((await stack.anonymous().get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
    const openapi = await stack.anonymous().get('/api/docs/openapi.json').expect(200);
    expect(Object.keys(openapi.body.paths as object).some((p) => p.includes('*'))).toBe(false);
    // Only GET falls back to the page; other methods on unknown paths are the API's 404.
    await stack.anonymous().post('/workspaces').expect(404);
  });

  it('answers a clear 503 page when the console is not built, and the API still runs', async () => {
    const res = await bare.anonymous().get('/').expect(503);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('The web console is not built');
    expect(res.text).toContain('npm run build');
    expect(res.text).toContain('CAUSEWAY_CONSOLE_DIR');
    await bare.anonymous().get('/workspaces').expect(503);
    await bare.anonymous().get('/healthz').expect(200);
  });

  it('serves a build made after start without a restart, and never a dot-file of it', async () => {
    mkdirSync(join(emptyDir, 'assets'));
    writeFileSync(join(emptyDir, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(emptyDir, 'assets', 'app-0a1b2c.js'), 'console.log(1);');
    writeFileSync(join(emptyDir, '.env'), 'SECRET=do-not-serve');
    const page = await bare.anonymous().get('/workspaces').expect(200);
    expect(page.text).toContain('<div id="root">');
    const script = await bare.anonymous().get('/assets/app-0a1b2c.js').expect(200);
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const hidden = await bare.anonymous().get('/.env');
    expect(hidden.status).toBe(404);
    expect(hidden.text).not.toContain('do-not-serve');
  });
});
