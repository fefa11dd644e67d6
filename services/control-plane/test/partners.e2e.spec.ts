import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import supertest from 'supertest';
import { DataSource } from 'typeorm';
import { BridgeTopology } from '@causeway/bridge';
import {
  ServiceProcess,
  TEST_AMQP_URL,
  deleteBrokerObjects,
  uniqueSuffix,
  startOidcProvider,
  startSmtpCapture,
  type SmtpCapture,
  type TestOidcProvider,
} from '@causeway/testing';
import { InvitationsService } from '../src/invitations/invitations.service';
import type { NodeView } from '../src/nodes/nodes.dto';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { Stack } from './harness';

/**
 * Tenants, data residency and partner invitations end to end: a real control plane on
 * PostgreSQL, nodes enrolled from dist/, a real SMTP server the invitation and sign-in mails are
 * read from, and panva's oidc-provider as a partner company's identity provider.
 */
describe('tenants, data residency and partners (real stack, SMTP, oidc-provider)', () => {
  let stack: Stack;
  let smtp: SmtpCapture;
  let partnerIdp: TestOidcProvider;
  let memberIdp: TestOidcProvider;
  let db: DataSource;
  let ownerCookie: string;
  let partnerCookie: string;
  let nodeEu: NodeView;
  let nodeUs: NodeView;
  let shared: string;
  let internal: string;
  let globexWorkspace: string;
  let invitationId: string;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    const user = encodeURIComponent(smtp.auth.user);
    const pass = encodeURIComponent(smtp.auth.pass);
    stack = await Stack.start({
      CAUSEWAY_SMTP_URL: `smtp://${user}:${pass}@127.0.0.1:${smtp.port}`,
      CAUSEWAY_SMTP_REQUIRE_TLS: 'false',
      CAUSEWAY_MAIL_FROM: 'Causeway <no-reply@causeway.test>',
      CAUSEWAY_EMAIL_CODE_KEY: randomBytes(32).toString('base64'),
    });
    db = stack.app.get(DataSource);
    const redirectUris = [`${stack.config.publicUrl}/api/v1/auth/acme/oidc/callback`];
    // A partner company's IdP, and (for the mismatch case) one that vouches for the owner.
    partnerIdp = await startOidcProvider({
      redirectUris,
      account: {
        sub: 'partnerco-quinn',
        email: 'quinn@partnerco.test',
        email_verified: true,
        name: 'Quinn',
        groups: ['admins'],
      },
    });
    memberIdp = await startOidcProvider({
      redirectUris,
      account: { sub: 'spoof-olga', email: 'olga@acme.test', email_verified: true },
    });
    await stack.createTenant('globex', 'eu-west');
  });

  afterAll(async () => {
    await partnerIdp?.stop();
    await memberIdp?.stop();
    await stack?.close();
    await smtp?.stop();
  });

  function cookieOf(res: Response): string {
    const header = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const pair = header
      .map((h) => h.split(';')[0])
      .find((p) => p?.startsWith(`${SESSION_COOKIE}=`));
    if (!pair) throw new Error(`no session cookie was set (${res.status} ${res.text})`);
    return pair;
  }

  /** A request in the browser of whoever holds the cookie. */
  function as(cookie: string) {
    const agent = stack.anonymous();
    return {
      get: (path: string) => agent.get(path).set('Cookie', cookie),
      post: (path: string) => agent.post(path).set('Cookie', cookie),
      put: (path: string) => agent.put(path).set('Cookie', cookie),
      patch: (path: string) => agent.patch(path).set('Cookie', cookie),
      delete: (path: string) => agent.delete(path).set('Cookie', cookie),
    };
  }

  /** Signs in with the code from the real mail. */
  async function signInByEmail(slug: string, email: string): Promise<string> {
    await stack.anonymous().post(`/api/v1/auth/${slug}/email/start`).send({ email }).expect(202);
    const mail = await smtp.waitForMail(email);
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
    if (!code) throw new Error(`no code in the mail: ${mail.text}`);
    const res = await stack
      .anonymous()
      .post(`/api/v1/auth/${slug}/email/verify`)
      .send({ email, code })
      .expect(200);
    return cookieOf(res);
  }

  /** Plays the browser through an OIDC sign-in with one connector; returns our answer. */
  async function signInWithOidc(
    providerId: string,
    idp: TestOidcProvider,
  ): Promise<supertest.Response> {
    const start = await stack
      .anonymous()
      .get(`/api/v1/auth/acme/oidc/login?provider=${providerId}`)
      .expect(302);
    const binding = /causeway_oidc_attempt=[^;]+/.exec(String(start.headers['set-cookie']))?.[0];
    const callback = new URL(await idp.login(String(start.headers.location)));
    return stack
      .anonymous()
      .get(callback.pathname + callback.search)
      .set('Cookie', binding ?? '');
  }

  async function audit(type: string): Promise<Array<Record<string, unknown>>> {
    const res = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events')
      .query({ type, limit: 1000 })
      .expect(200);
    return (res.body as { items: Array<Record<string, unknown>> }).items;
  }

  async function count(sql: string, params: unknown[]): Promise<number> {
    const rows = await db.query<Array<{ n: number }>>(sql, params);
    return rows[0]?.n ?? -1;
  }

  async function addConnector(name: string, idp: TestOidcProvider, partners: boolean) {
    const res = await stack
      .http()
      .post('/api/v1/tenants/acme/identity-providers')
      .send({
        kind: 'oidc',
        name,
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        partners,
      })
      .expect(201);
    expect(res.body.settings.partners).toBe(partners);
    return res.body.id as string;
  }

  it('the operator creates a tenant with its owner, who can sign in and run it', async () => {
    const created = await stack
      .http()
      .post('/api/v1/tenants')
      .send({
        slug: 'acme',
        name: 'Acme <Corp>',
        region: 'eu-west',
        owner: { email: 'Olga@Acme.test', displayName: 'Olga' },
      })
      .expect(201);
    expect(created.body).toMatchObject({
      slug: 'acme',
      region: 'eu-west',
      retentionDays: 365,
      keyRotationDays: 90,
      owner: { email: 'olga@acme.test', displayName: 'Olga' },
    });
    await stack
      .http()
      .post('/api/v1/tenants')
      .send({ slug: 'acme', name: 'Again', region: 'eu-west' })
      .expect(409);
    const all = await stack.http().get('/api/v1/tenants').expect(200);
    expect((all.body.items as Array<{ slug: string }>).map((t) => t.slug).sort()).toEqual([
      'acme',
      'globex',
    ]);
    const assignment = await db.query<Array<Record<string, unknown>>>(
      'SELECT role_name, role_id, principal, scope_type FROM role_assignments WHERE tenant_id = $1',
      [created.body.id],
    );
    expect(assignment).toEqual([
      {
        role_name: 'owner',
        role_id: null,
        principal: `user:${created.body.owner.id}`,
        scope_type: 'tenant',
      },
    ]);
    expect((await audit('admin.tenant.created')).length).toBe(1);

    await stack
      .http()
      .put('/api/v1/tenants/acme/sign-in-policy')
      .send({ emailCodesAllowed: true })
      .expect(200);
    ownerCookie = await signInByEmail('acme', 'olga@acme.test');
    const settings = await as(ownerCookie).get('/api/v1/tenants/acme').expect(200);
    expect(settings.body).toEqual({
      id: created.body.id,
      slug: 'acme',
      name: 'Acme <Corp>',
      region: 'eu-west',
      retentionDays: 365,
      keyRotationDays: 90,
      state: 'active',
      createdAt: created.body.createdAt,
    });
    // Tenants are the platform operator's; another tenant is not there for the owner.
    await as(ownerCookie)
      .post('/api/v1/tenants')
      .send({ slug: 'mine', name: 'Mine', region: 'eu-west' })
      .expect(403);
    await as(ownerCookie).get('/api/v1/tenants').expect(403);
    await as(ownerCookie).get('/api/v1/tenants/globex').expect(404);
  });

  it('the owner changes the retention; the region cannot move while a node lives in it', async () => {
    const changed = await as(ownerCookie)
      .patch('/api/v1/tenants/acme')
      .send({ retentionDays: 30, keyRotationDays: 45 })
      .expect(200);
    expect(changed.body).toMatchObject({ retentionDays: 30, keyRotationDays: 45 });
    const [event] = await audit('config.tenant.changed');
    expect(event).toMatchObject({
      actor: expect.stringMatching(/^user:/),
      details: { retentionDays: 30, retentionDaysBefore: 365, keyRotationDays: 45 },
    });
    for (const bad of [{ retentionDays: 0 }, { retentionDays: 3651 }, {}, { region: 'EU West' }]) {
      await as(ownerCookie).patch('/api/v1/tenants/acme').send(bad).expect(400);
    }
    // Nothing lives anywhere yet: the region may move, and back.
    await as(ownerCookie).patch('/api/v1/tenants/acme').send({ region: 'eu-central' }).expect(200);
    await as(ownerCookie).patch('/api/v1/tenants/acme').send({ region: 'eu-west' }).expect(200);

    nodeEu = await stack.registerNode('acme', 'node-eu');
    expect(nodeEu.region).toBe('eu-west');
    const refused = await as(ownerCookie)
      .patch('/api/v1/tenants/acme')
      .send({ region: 'us-east', retentionDays: 60 })
      .expect(409);
    expect(refused.body).toMatchObject({
      code: 'residency_violation',
      details: { nodes: 1 },
    });
    // Refused as a whole: the retention did not change either.
    const after = await as(ownerCookie).get('/api/v1/tenants/acme').expect(200);
    expect(after.body).toMatchObject({ region: 'eu-west', retentionDays: 30 });
    const nodes = await as(ownerCookie).get('/api/v1/tenants/acme/nodes').expect(200);
    expect((nodes.body.items as NodeView[]).map((n) => n.id)).toEqual([nodeEu.id]);
  });

  it('refuses a workspace on a node of another region, writing nothing', async () => {
    // Enrolment only admits nodes of the tenant's region (the join token carries it), so the
    // second node's region is changed in the database, as if the tenant had moved.
    nodeUs = await stack.registerNode('acme', 'node-us');
    await db.query(`UPDATE nodes SET region = 'us-east' WHERE id = $1`, [nodeUs.id]);
    const refused = await as(ownerCookie)
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'Offshore', node: nodeUs.id })
      .expect(409);
    expect(refused.body.code).toBe('residency_violation');
    expect(
      await count(`SELECT count(*)::int AS n FROM workspaces WHERE name = 'Offshore'`, []),
    ).toBe(0);
    expect(
      await count('SELECT count(*)::int AS n FROM outbox WHERE node_id = $1', [nodeUs.id]),
    ).toBe(0);

    shared = (
      await as(ownerCookie)
        .post('/api/v1/tenants/acme/workspaces')
        .send({ name: 'Shared with PartnerCo', node: nodeEu.id })
        .expect(202)
    ).body.id as string;
    internal = (
      await as(ownerCookie)
        .post('/api/v1/tenants/acme/workspaces')
        .send({ name: 'Internal', node: nodeEu.id })
        .expect(202)
    ).body.id as string;
    const globexNode = await stack.registerNode('globex', 'node-g');
    globexWorkspace = (
      await stack
        .http()
        .post('/api/v1/tenants/globex/workspaces')
        .send({ name: 'Globex only', node: globexNode.id })
        .expect(202)
    ).body.id as string;
  });

  it('the owner invites a partner: the mail names the workspace and the sign-in page', async () => {
    for (const role of ['admin', 'owner', 'auditor', 'no-such-role']) {
      await as(ownerCookie)
        .post(`/api/v1/tenants/acme/workspaces/${shared}/invitations`)
        .send({ email: 'pat@partnerco.test', role })
        .expect(400);
    }
    await as(ownerCookie)
      .post(`/api/v1/tenants/acme/workspaces/${globexWorkspace}/invitations`)
      .send({ email: 'pat@partnerco.test', role: 'partner-editor' })
      .expect(404);
    const res = await as(ownerCookie)
      .post(`/api/v1/tenants/acme/workspaces/${shared}/invitations`)
      .send({ email: 'Pat@PartnerCo.test', role: 'partner-editor' })
      .expect(201);
    const signInUrl = `${stack.config.publicUrl}/?tenant=acme`;
    expect(res.body).toMatchObject({
      email: 'pat@partnerco.test',
      role: 'partner-editor',
      workspaceId: shared,
      signInUrl,
      emailSent: true,
    });
    invitationId = res.body.id as string;
    const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(13.9);
    expect(days).toBeLessThanOrEqual(14);

    const mail = await smtp.waitForMail('pat@partnerco.test');
    const url = /(https?:\/\/\S+\/\?tenant=acme)/.exec(mail.text)?.[1];
    expect(url).toBe(signInUrl);
    expect(mail.text).toContain('Shared with PartnerCo');
    expect(mail.text).toContain('Olga');
    expect(mail.html).toContain('Acme &#60;Corp&#62;');
    expect(mail.html).not.toContain('<Corp>');
    // The link works: the console's sign-in page, which asks the tenant's sign-in methods.
    const page = await stack
      .anonymous()
      .get(new URL(url ?? '').pathname + '?tenant=acme')
      .expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    await stack.anonymous().get('/api/v1/auth/acme/methods').expect(200);

    await as(ownerCookie)
      .post(`/api/v1/tenants/acme/workspaces/${shared}/invitations`)
      .send({ email: 'pat@partnerco.test', role: 'partner-editor' })
      .expect(409);
    const list = await as(ownerCookie).get('/api/v1/tenants/acme/invitations').expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: invitationId, state: 'pending', workspaceId: shared }),
    ]);
    const user = await db.query<Array<{ kind: string }>>(
      `SELECT kind FROM users WHERE lower(email) = 'pat@partnerco.test'`,
    );
    expect(user).toEqual([{ kind: 'partner' }]);
    expect(await audit('access.invitation.created')).toHaveLength(1);
  });

  it('the partner signs in with an emailed code and sees only the shared workspace', async () => {
    partnerCookie = await signInByEmail('acme', 'pat@partnerco.test');
    const partner = as(partnerCookie);
    const list = await partner.get('/api/v1/tenants/acme/workspaces').expect(200);
    expect((list.body.items as Array<{ id: string }>).map((w) => w.id)).toEqual([shared]);
    await partner.get(`/api/v1/tenants/acme/workspaces/${shared}`).expect(200);
    expect([403, 404]).toContain(
      (await partner.get(`/api/v1/tenants/acme/workspaces/${internal}`)).status,
    );
    await partner.get(`/api/v1/tenants/acme/workspaces/${globexWorkspace}`).expect(404);
    await partner.get(`/api/v1/tenants/globex/workspaces/${globexWorkspace}`).expect(404);
    await partner.get('/api/v1/tenants/globex/workspaces').expect(404);

    for (const path of [
      '/api/v1/tenants/acme/allow-list',
      '/api/v1/tenants/acme/roles',
      '/api/v1/tenants/acme/audit-events',
      '/api/v1/tenants/acme/sign-in-policy',
      '/api/v1/tenants/acme/identity-providers',
      '/api/v1/tenants/acme/invitations',
      '/api/v1/tenants/acme/nodes',
      '/api/v1/tenants/acme',
    ]) {
      const res = await partner.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    await partner
      .post(`/api/v1/tenants/acme/workspaces/${shared}/invitations`)
      .send({ email: 'friend@partnerco.test', role: 'partner-viewer' })
      .expect(403);
    await partner.patch('/api/v1/tenants/acme').send({ retentionDays: 1 }).expect(403);

    const invitations = await as(ownerCookie).get('/api/v1/tenants/acme/invitations').expect(200);
    expect(invitations.body.items[0]).toMatchObject({ state: 'accepted' });
    expect(await audit('access.invitation.accepted')).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ invitationId }) }),
    ]);
  });

  it('the members list shows the partner on the shared workspace only', async () => {
    type Member = { user: { email: string } | null; role: string; scope: string };
    const members = async (ws: string, cookie = ownerCookie): Promise<Member[]> =>
      (await as(cookie).get(`/api/v1/tenants/acme/workspaces/${ws}/members`).expect(200)).body
        .items as Member[];
    const onShared = await members(shared);
    expect(onShared).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          user: expect.objectContaining({ email: 'pat@partnerco.test', kind: 'partner' }),
          role: 'partner-editor',
          scope: 'workspace',
        }),
        expect.objectContaining({
          user: expect.objectContaining({ email: 'olga@acme.test' }),
          role: 'owner',
          scope: 'tenant',
        }),
      ]),
    );
    expect(onShared).toHaveLength(2);
    // The partner (partner-editor may see members) sees the same, on their workspace only.
    expect(await members(shared, partnerCookie)).toEqual(onShared);
    const onInternal = await members(internal);
    expect(onInternal.map((m) => m.user?.email)).toEqual(['olga@acme.test']);
    expect([403, 404]).toContain(
      (await as(partnerCookie).get(`/api/v1/tenants/acme/workspaces/${internal}/members`)).status,
    );
  });

  it("revoking ends the partner's access at the very next request of the same session", async () => {
    const revoked = await as(ownerCookie)
      .delete(`/api/v1/tenants/acme/invitations/${invitationId}`)
      .expect(200);
    expect(revoked.body).toMatchObject({ id: invitationId, state: 'revoked' });
    const partner = as(partnerCookie);
    expect([403, 404]).toContain(
      (await partner.get(`/api/v1/tenants/acme/workspaces/${shared}`)).status,
    );
    await partner.get('/api/v1/tenants/acme/workspaces').expect(403);
    // Signed in still, with nothing to see.
    await partner.get('/api/v1/me').expect(200);
    expect(await audit('access.invitation.revoked')).toHaveLength(1);
    // Revoking again changes nothing (recorded as a repeat); an unknown id is not there.
    const rolesRemoved = (await audit('access.role.removed')).length;
    await as(ownerCookie).delete(`/api/v1/tenants/acme/invitations/${invitationId}`).expect(200);
    const revocations = await audit('access.invitation.revoked');
    expect(revocations.map((e) => (e['details'] as { again?: boolean }).again)).toEqual([
      undefined,
      true,
    ]);
    expect(await audit('access.role.removed')).toHaveLength(rolesRemoved);
    await as(ownerCookie)
      .delete('/api/v1/tenants/acme/invitations/00000000-0000-4000-8000-000000000000')
      .expect(404);
    await stack.http().delete(`/api/v1/tenants/globex/invitations/${invitationId}`).expect(404);
  });

  it('an invitation unused for 14 days stops giving access', async () => {
    const res = await stack
      .http()
      .post(`/api/v1/tenants/acme/workspaces/${shared}/invitations`)
      .send({ email: 'late@partnerco.test', role: 'partner-viewer' })
      .expect(201);
    await smtp.waitForMail('late@partnerco.test');
    await db.query(
      `UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = $1`,
      [res.body.id],
    );
    const list = await stack.http().get('/api/v1/tenants/acme/invitations').expect(200);
    expect(list.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: res.body.id, state: 'expired' })]),
    );
    expect(await stack.app.get(InvitationsService).sweepExpired()).toBe(1);
    const cookie = await signInByEmail('acme', 'late@partnerco.test');
    await as(cookie).get('/api/v1/tenants/acme/workspaces').expect(403);
    const after = await stack.http().get('/api/v1/tenants/acme/invitations').expect(200);
    expect(after.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: res.body.id, state: 'expired' })]),
    );
  });

  it('a partner connector signs people in as partners, with no access until invited', async () => {
    const providerId = await addConnector('PartnerCo', partnerIdp, true);
    const res = await signInWithOidc(providerId, partnerIdp);
    expect(res.status).toBe(303);
    const cookie = cookieOf(res);
    const me = await as(cookie).get('/api/v1/me').expect(200);
    expect(me.body).toMatchObject({ email: 'quinn@partnerco.test' });
    const [row] = await db.query<Array<{ kind: string; sso_groups: string[] }>>(
      `SELECT kind, sso_groups FROM users WHERE email = 'quinn@partnerco.test'`,
    );
    // The partner IdP's groups ("admins") are not kept: they cannot match the tenant's groups.
    expect(row).toEqual({ kind: 'partner', sso_groups: [] });
    await as(cookie).get('/api/v1/tenants/acme/workspaces').expect(403);
    expect([403, 404]).toContain(
      (await as(cookie).get(`/api/v1/tenants/acme/workspaces/${shared}`)).status,
    );
    await as(cookie).get('/api/v1/tenants/acme/audit-events').expect(403);
  });

  it('refuses a partner through a member connector, and a member through a partner connector', async () => {
    // The tenant's own connector at the same IdP: Quinn's partner account is not its to sign in.
    const membersConnector = await addConnector('Acme SSO', partnerIdp, false);
    const viaMembers = await signInWithOidc(membersConnector, partnerIdp);
    expect(viaMembers.status).toBe(401);
    expect(viaMembers.body).toMatchObject({
      code: 'sign_in_failed',
      details: { reason: 'account_kind_mismatch' },
    });
    // A partner IdP that vouches for the owner's address does not get the owner's account.
    const spoofing = await addConnector('Spoofing partner', memberIdp, true);
    const viaPartner = await signInWithOidc(spoofing, memberIdp);
    expect(viaPartner.status).toBe(401);
    expect(viaPartner.body).toMatchObject({ details: { reason: 'account_kind_mismatch' } });
    expect(String(viaPartner.headers['set-cookie'])).not.toContain(`${SESSION_COOKIE}=`);
    const failed = await audit('auth.sign_in.failed');
    expect(failed.filter((e) => e.reason === 'account_kind_mismatch')).toHaveLength(2);
    const links = await count(
      'SELECT count(*)::int AS n FROM user_identities WHERE provider_id = ANY($1)',
      [[membersConnector, spoofing]],
    );
    expect(links).toBe(0);
  });

  it('causeway-cp creates a tenant with its owner and lists the tenants', async () => {
    const namespace = `t${uniqueSuffix()}`;
    const instanceId = `cli-${uniqueSuffix()}`;
    const env = {
      CAUSEWAY_DATABASE_URL: stack.config.databaseUrl,
      CAUSEWAY_AMQP_URL: TEST_AMQP_URL,
      CAUSEWAY_ADMIN_TOKEN: stack.config.adminToken,
      CAUSEWAY_BRIDGE_NAMESPACE: namespace,
      CAUSEWAY_INSTANCE_ID: instanceId,
    };
    const cli = async (...args: string[]) => {
      const proc = new ServiceProcess('services/control-plane/dist/cli/main.js', env, args);
      const code = await proc.exited;
      return { code, out: proc.lines.join('\n'), err: proc.stderr.join('') };
    };
    try {
      const created = await cli(
        'tenants',
        'create',
        '--slug',
        'initech',
        '--name',
        'Initech',
        '--region',
        'us-east',
        '--owner-email',
        'bill@initech.test',
        '--json',
      );
      expect(created).toMatchObject({ code: 0 });
      const tenant = JSON.parse(created.out) as { id: string; owner: { email: string } };
      expect(tenant.owner.email).toBe('bill@initech.test');
      const owners = await db.query<Array<{ role_name: string }>>(
        'SELECT role_name FROM role_assignments WHERE tenant_id = $1',
        [tenant.id],
      );
      expect(owners).toEqual([{ role_name: 'owner' }]);
      const listed = await cli('tenants', 'list');
      expect(listed.code).toBe(0);
      expect(listed.out).toContain('initech');
      expect(listed.out).toContain('us-east');
      const usage = await cli(
        'tenants',
        'create',
        '--slug',
        'x1',
        '--name',
        'X',
        '--region',
        'eu-west',
        '--owner-name',
        'X',
      );
      expect(usage.code).toBe(64);
    } finally {
      const { queues, exchanges } = new BridgeTopology(namespace).names([], [instanceId]);
      await deleteBrokerObjects(queues, exchanges, TEST_AMQP_URL);
    }
  });
});
