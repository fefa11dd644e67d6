import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  launchTestBrowser,
  startOidcProvider,
  startSmtpCapture,
  TestSamlIdp,
  type SmtpCapture,
  type TestBrowser,
  type TestOidcProvider,
} from '@causeway/testing';
import { Stack } from '../harness';
import { tusUpload } from '../tus-client';

const REPO = join(__dirname, '..', '..', '..', '..');
const CONSOLE_DIST = join(REPO, 'apps', 'console', 'dist');
/** Kept after the run (git-ignored with the rest of .causeway/). */
const SCREENSHOTS = join(REPO, '.causeway', 'artifacts', 'console');

/**
 * The admin console end to end: the built app served by a real control plane, a real node
 * process, a real SMTP server for the emailed sign-in code, panva's oidc-provider as the
 * company's identity provider, and Debian's headless Chromium, used the way an admin uses it.
 */
describe('admin console in headless Chromium (real control plane, node, SMTP, OIDC provider)', () => {
  let stack: Stack;
  let smtp: SmtpCapture;
  let idp: TestOidcProvider;
  let browser: TestBrowser;
  let page: Page;
  let ws: string;
  let nodeId: string;
  const admin = 'olga@acme.test';
  const auditor = 'ivan@acme.test';
  const partner = 'pat@partnerco.test';
  /** A name no other event carries, so finding it proves the filter and the export found the upload. */
  const uploadedName = `q3-contract-${randomBytes(4).toString('hex')}.pdf`;
  const pageErrors: string[] = [];

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
    // The operator creates the tenant with its owner, as docs/admin/tenants.md describes.
    await stack
      .http()
      .post('/api/v1/tenants')
      .send({
        slug: 'acme',
        name: 'Acme Corp',
        region: 'eu-west',
        owner: { email: admin, displayName: 'Olga Berg' },
      })
      .expect(201);
    const auditorUser = await stack
      .http()
      .post('/api/v1/tenants/acme/users')
      .send({ email: auditor, displayName: 'Ivan Auditor' })
      .expect(201);
    await stack
      .http()
      .post('/api/v1/tenants/acme/role-assignments')
      .send({ role: 'auditor', user: auditorUser.body.id, scope: { type: 'tenant' } })
      .expect(201);

    nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    ws = await stack.readyWorkspace('acme', 'Contracts', nodeId);

    // A partner is invited and uploads a file through the API (tus), on the real node.
    await stack
      .http()
      .post(`/api/v1/tenants/acme/workspaces/${ws}/invitations`)
      .send({ email: partner, role: 'partner-editor' })
      .expect(201);
    // The invitation mail, so that the partner's next mail is a sign-in code.
    expect((await smtp.waitForMail(partner)).subject).toMatch(/invites you/i);
    const { cookie } = await stack.signedIn('acme', partner, { kind: 'partner' });
    const uploaded = await tusUpload(stack.url, ws, randomBytes(50_000), {
      cookie,
      filename: uploadedName,
    });
    expect(uploaded.fileId).toMatch(/^[0-9a-f-]{36}$/);

    idp = await startOidcProvider({
      redirectUris: [`${stack.config.publicUrl}/api/v1/auth/acme/oidc/callback`],
      // The company's IdP vouches for the admin's own (verified) address: the first SSO
      // sign-in links to her existing account.
      account: { sub: 'olga-42', email: admin, email_verified: true, name: 'Olga Berg' },
    });

    browser = await launchTestBrowser();
    page = await browser.context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await idp?.stop();
    await stack?.close();
    await smtp?.stop();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `admin-${name}.png`), fullPage: true });

  /** Presses Tab until `selector` has the focus; fails if it is not reachable that way. */
  async function tabTo(selector: string, maxPresses = 40): Promise<void> {
    for (let i = 0; i < maxPresses; i += 1) {
      await page.keyboard.press('Tab');
      if (await page.locator(selector).evaluate((el) => el === document.activeElement)) return;
    }
    throw new Error(`${selector} was not reached with ${maxPresses} presses of Tab`);
  }

  /** Signs in through the console's sign-in page with the code the SMTP server received. */
  async function signInWithEmailedCode(email: string): Promise<void> {
    await page.goto(`${stack.url}/?tenant=acme`);
    await page.waitForURL('**/sign-in');
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await page.getByLabel('6-digit code').waitFor();
    const mail = await smtp.waitForMail(email);
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
    if (!code) throw new Error(`no code in the mail: ${mail.text}`);
    await page.getByLabel('6-digit code').fill(code);
    await page.keyboard.press('Enter');
    await page.waitForURL('**/workspaces**');
  }

  /** Who the browser's session belongs to, as the API says. */
  async function me(): Promise<{ email?: string; authMethod?: string }> {
    return page.evaluate(
      async () =>
        (await (await fetch('/api/v1/me')).json()) as { email?: string; authMethod?: string },
    );
  }

  /** Clicks through the provider's own pages (login, consent) until it sends the browser back. */
  async function throughProvider(): Promise<void> {
    for (let step = 0; step < 3 && page.url().startsWith(idp.issuer); step += 1) {
      const here = page.url();
      await Promise.all([
        page.waitForURL((url) => url.href !== here),
        page.getByRole('button', { name: 'Continue' }).click(),
      ]);
    }
    await page.waitForURL(`${stack.url}/workspaces**`);
  }

  async function open(path: string, heading: string): Promise<void> {
    await page.goto(`${stack.url}${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  it('signs the admin in with an emailed code and shows the administration overview', async () => {
    await signInWithEmailedCode(admin);
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL('**/admin');
    await page.getByRole('heading', { level: 1, name: 'Administration' }).waitFor();
    await page.getByText('Acme Corp').waitFor();
    for (const section of ['Settings', 'Sign-in', 'Audit', 'Nodes']) {
      expect(
        await page
          .getByRole('navigation', { name: 'Administration' })
          .getByRole('link', { name: section })
          .count(),
      ).toBe(1);
    }
    await shot('overview');
  });

  it('configures OIDC against the test provider, and "test sign-in" signs the admin in through it', async () => {
    await open('/admin/sign-in', 'Sign-in');
    await page.getByRole('button', { name: 'Add an OIDC connector' }).click();
    const form = page.getByRole('form', { name: 'New OIDC connector' });
    await form.getByLabel('Name', { exact: true }).fill('Acme SSO');
    await form.getByLabel('Issuer URL').fill(idp.issuer);
    await form.getByLabel('Client id').fill(idp.clientId);
    await form.getByLabel('Client secret').fill(idp.clientSecret);
    await form.getByRole('button', { name: 'Save connector' }).click();

    const card = page.getByRole('listitem', { name: 'Acme SSO (OIDC)' });
    await card.waitFor();
    expect(await card.textContent()).toContain(idp.issuer);
    expect(await page.content()).not.toContain(idp.clientSecret);
    const saved = await stack.http().get('/api/v1/tenants/acme/identity-providers').expect(200);
    expect(saved.body.items).toEqual([
      expect.objectContaining({
        kind: 'oidc',
        name: 'Acme SSO',
        settings: expect.objectContaining({ issuer: idp.issuer, clientId: idp.clientId }),
      }),
    ]);
    await shot('sign-in');

    const before = await me();
    expect(before).toMatchObject({ email: admin, authMethod: 'email-code' });
    await card.getByRole('link', { name: 'Test sign-in' }).click();
    // The provider's own pages (login, then consent), in the same browser.
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await throughProvider();
    expect(await me()).toMatchObject({ email: admin, authMethod: 'oidc' });
    await page.locator('.who-name').filter({ hasText: 'Olga Berg' }).waitFor();
  });

  it('offers the new connector as a button on the sign-in page, which signs the admin in', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/sign-in');
    expect(await page.evaluate(async () => (await fetch('/api/v1/me')).status)).toBe(401);
    const button = page.getByRole('link', { name: 'Sign in with Acme SSO' });
    await button.waitFor();
    await shot('sign-in-page-sso');
    await button.click();
    // The provider remembers the admin from the test sign-in: it may send the browser straight
    // back, or first ask to continue.
    await page.waitForURL(
      (url) => url.href.startsWith(idp.issuer) || url.href.startsWith(`${stack.url}/workspaces`),
    );
    await throughProvider();
    expect(await me()).toMatchObject({ email: admin, authMethod: 'oidc' });
  });

  it('adds a SAML connector from an uploaded IdP metadata file and downloads its SP metadata', async () => {
    const samlIdp = await TestSamlIdp.create({ entityId: 'https://idp.acme.test/saml' });
    await open('/admin/sign-in', 'Sign-in');
    await page.getByRole('button', { name: 'Add a SAML connector' }).click();
    const form = page.getByRole('form', { name: 'New SAML connector' });
    await form.getByLabel('Name', { exact: true }).fill('Acme SAML');
    await form.getByLabel('IdP metadata (XML file)').setInputFiles({
      name: 'idp-metadata.xml',
      mimeType: 'application/xml',
      buffer: Buffer.from(samlIdp.metadataXml()),
    });
    await form.getByText('idp-metadata.xml:').waitFor();
    await form.getByRole('button', { name: 'Save connector' }).click();

    const card = page.getByRole('listitem', { name: 'Acme SAML (SAML)' });
    await card.waitFor();
    expect(await card.textContent()).toContain('https://idp.acme.test/saml');
    const providers = await stack.http().get('/api/v1/tenants/acme/identity-providers').expect(200);
    const saml = (
      providers.body.items as Array<{ kind: string; spEntityId: string; acsUrl: string }>
    ).find((p) => p.kind === 'saml');
    expect(saml).toBeDefined();
    await shot('sign-in-saml');

    const download = page.waitForEvent('download');
    await card.getByRole('link', { name: 'Download SP metadata' }).click();
    const xml = readFileSync(await (await download).path(), 'utf8');
    expect(xml).toContain(`entityID="${saml?.spEntityId.replace(/&/g, '&amp;')}"`);
    expect(xml).toContain(saml?.acsUrl.replace(/&/g, '&amp;'));
  });

  it('shows the settings and saves a new retention period', async () => {
    await open('/admin/settings', 'Settings');
    const retention = page.getByLabel('Keep the audit trail and deleted documents for (days)');
    expect(await retention.inputValue()).toBe('365');
    expect(await page.getByLabel('Region').inputValue()).toBe('eu-west');
    await retention.fill('30');
    await retention.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Retention saved.' }).waitFor();
    const tenant = await stack.http().get('/api/v1/tenants/acme').expect(200);
    expect(tenant.body.retentionDays).toBe(30);
    await shot('settings');
  });

  it('lists roles, assignments and people', async () => {
    await open('/admin/roles', 'Roles and people');
    await page.getByRole('rowheader', { name: /^owner/ }).waitFor();
    // The auditor's assignment is shown with the person's address, not a bare id.
    const assignments = page.getByRole('region', { name: 'Assignments' });
    await assignments
      .getByRole('row')
      .filter({ hasText: auditor })
      .filter({ hasText: 'Whole tenant' })
      .waitFor();
    expect(
      await assignments
        .getByRole('row')
        .filter({ hasText: auditor })
        .locator('td[data-label=Role]')
        .textContent(),
    ).toBe('auditor');
    await shot('roles');
  });

  it('lists the partner invitation and invites another partner', async () => {
    await open('/admin/partners', 'Partners');
    await page.getByRole('row').filter({ hasText: partner }).waitFor();
    const form = page.getByRole('form', { name: 'Invite a partner' });
    await form.getByLabel('Partner’s email address').fill('lee@partnerco.test');
    await form.getByLabel('Role').selectOption('partner-viewer');
    await form.getByRole('button', { name: 'Invite' }).click();
    await page.getByRole('status').filter({ hasText: 'lee@partnerco.test is invited' }).waitFor();
    await page.getByRole('row').filter({ hasText: 'lee@partnerco.test' }).waitFor();
    const invitations = await stack.http().get('/api/v1/tenants/acme/invitations').expect(200);
    expect(invitations.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          email: 'lee@partnerco.test',
          role: 'partner-viewer',
          state: 'pending',
        }),
      ]),
    );
    await shot('partners');
  });

  it('edits the IP allow-list and shows what the server kept', async () => {
    await open('/admin/allow-list', 'IP allow-list');
    const field = page.getByLabel('Networks, one per line');
    // The browser connects from 127.0.0.1: keep it, so the admin does not lock herself out.
    await field.fill('127.0.0.1\n10.0.0.1/8');
    await page.getByRole('button', { name: 'Save allow-list' }).click();
    // A wrong entry is refused with the server's sentence, and nothing changes.
    await page.getByRole('alert').filter({ hasText: '10.0.0.0/8' }).waitFor();
    await field.fill('127.0.0.1\n10.0.0.0/8');
    await page.getByRole('button', { name: 'Save allow-list' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved: 2 network(s)' }).waitFor();
    expect(await field.inputValue()).toBe('127.0.0.1/32\n10.0.0.0/8');
    await shot('allow-list');
    await stack.http().put('/api/v1/tenants/acme/allow-list').send({ entries: [] }).expect(200);
  });

  it('shows each node with its status, last heartbeat, version and certificate expiry', async () => {
    await open('/admin/nodes', 'Nodes');
    const row = page.getByRole('row').filter({ hasText: 'acme-node' });
    await row.waitFor();
    const node = (await stack.http().get(`/api/v1/nodes/${nodeId}`).expect(200)).body as {
      version: string;
    };
    expect(await row.locator('td[data-label=Status]').textContent()).toBe('online');
    expect(await row.locator('td[data-label=Version]').textContent()).toBe(node.version);
    expect(await row.locator('td[data-label="Last heartbeat"] time').count()).toBe(1);
    expect(await row.locator('td[data-label="Certificate expires"] time').count()).toBe(1);
    await shot('nodes');
  });

  it('shows the workspace keys and rotates one on demand', async () => {
    await open('/admin/keys', 'Keys');
    const item = page
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: 'Contracts' }) });
    await item.getByText('Active version').waitFor();
    const before = (
      await stack.http().get(`/api/v1/tenants/acme/workspaces/${ws}/keys`).expect(200)
    ).body.activeVersion as number;
    await item.getByRole('button', { name: 'Rotate now' }).click();
    await item
      .getByRole('status')
      .filter({ hasText: `Version ${before + 1} is active` })
      .waitFor();
    await shot('keys');
  });

  it('shows the alert settings', async () => {
    await open('/admin/alerts', 'Alerts');
    expect(await page.getByLabel('Failed sign-ins within 5 minutes').inputValue()).toBe('10');
    await page.getByRole('heading', { name: 'Recent alerts' }).waitFor();
    await shot('alerts');
  });

  it('finds the partner’s upload with the keyboard-driven filters, charts it, and exports it', async () => {
    await open('/admin/audit', 'Audit trail');
    await page.getByTestId('audit-count').waitFor();
    await page.locator('h1').focus();
    await tabTo('input[name=type]');
    await page.keyboard.type('data.file.uploaded');
    await tabTo('input[name=ip]');
    await page.keyboard.type('127.0.0.0/8');
    await page.keyboard.press('Enter');
    await page.waitForURL(/type=data\.file\.uploaded/);
    expect(page.url()).toContain('ip=127.0.0.0%2F8');

    const rows = page.locator('table.audit-events tbody tr');
    // The filtered answer replaces the unfiltered list: only uploads are left.
    await page.waitForFunction(() => {
      const trs = Array.from(document.querySelectorAll('table.audit-events tbody tr'));
      return (
        trs.length > 0 && trs.every((tr) => tr.getAttribute('data-type') === 'data.file.uploaded')
      );
    });
    await rows.filter({ hasText: uploadedName }).waitFor();
    const types = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-type')));
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['data.file.uploaded']));
    // The owner holds audit.identities.read: the uploader is named, not pseudonymised.
    const actor = await rows.filter({ hasText: uploadedName }).locator('.actor').textContent();
    expect(actor).toMatch(/^user:[0-9a-f-]{36}$/);
    const chart = page.getByRole('img', { name: /Activity over time/ });
    expect(await chart.locator('rect.bar').count()).toBeGreaterThan(0);

    // The workspace filter too, chosen in the form and applied with Enter on the button.
    await page.getByLabel('Workspace').selectOption(ws);
    await page.getByRole('button', { name: 'Apply filters' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`workspace=${ws}`));
    await rows.filter({ hasText: uploadedName }).waitFor();
    await shot('audit');

    for (const format of ['csv', 'jsonl'] as const) {
      const download = page.waitForEvent('download');
      await page.getByRole('link', { name: `Export ${format.toUpperCase()}` }).click();
      const saved = await download;
      expect(saved.suggestedFilename()).toMatch(new RegExp(`^audit-events-acme-.*\\.${format}$`));
      const text = readFileSync(await saved.path(), 'utf8');
      if (format === 'csv') {
        expect(text.split('\r\n')[0]).toBe(
          'seq,id,occurredAt,type,category,severity,outcome,actor,reason,ip,details',
        );
      }
      const records = text.split(/\r?\n/).filter((l) => l.includes(uploadedName));
      expect(records).toHaveLength(1);
      expect(records[0]).toContain('data.file.uploaded');
      if (format === 'jsonl') {
        expect(JSON.parse(records[0] ?? '')).toMatchObject({
          type: 'data.file.uploaded',
          details: expect.objectContaining({ workspaceId: ws, name: uploadedName }),
        });
      }
    }
  });

  it('fits the audit viewer, and every admin page, into a 375 px wide screen without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.reload();
    await page.locator('table.audit-events tbody tr').filter({ hasText: uploadedName }).waitFor();
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(innerWidth).toBe(375);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await shot('audit-375px');
    // The other pages too, once their data is in.
    for (const path of [
      '/admin',
      '/admin/settings',
      '/admin/sign-in',
      '/admin/roles',
      '/admin/partners',
      '/admin/allow-list',
      '/admin/nodes',
      '/admin/keys',
      '/admin/alerts',
    ]) {
      await page.goto(`${stack.url}${path}`);
      await page.waitForLoadState('networkidle');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect({ path, width }).toEqual({ path, width: 375 });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('ran without a Content-Security-Policy violation', () => {
    expect(pageErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('shows an auditor pseudonyms in the audit viewer and a clear refusal where the role ends', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/sign-in');
    await signInWithEmailedCode(auditor);

    await open('/admin/sign-in', 'Sign-in');
    await page
      .getByText('your role does not include the identity-providers.manage permission')
      .waitFor();
    await shot('forbidden');

    await open(`/admin/audit?type=data.file.uploaded`, 'Audit trail');
    const row = page.locator('table.audit-events tbody tr').filter({ hasText: uploadedName });
    await row.waitFor();
    expect(await row.locator('.actor').textContent()).toMatch(/^user~/);
    await page.getByRole('note').filter({ hasText: 'People are shown as pseudonyms' }).waitFor();
    await shot('audit-pseudonymised');
  });

  it('offers a partner no Admin link, and refuses the admin pages with a sentence', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/sign-in');
    await signInWithEmailedCode(partner);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Workspaces' })
      .waitFor();
    expect(
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Admin' })
        .count(),
    ).toBe(0);
    await open('/admin/audit', 'Audit trail');
    await page.getByText('your role does not include the audit.read permission').waitFor();
    expect(await page.locator('table.audit-events').count()).toBe(0);
  });
});
