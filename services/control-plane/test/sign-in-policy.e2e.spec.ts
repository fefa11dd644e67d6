import { DataSource } from 'typeorm';
import { eventually } from '@causeway/testing';
import { SignInHousekeeping } from '../src/identity/housekeeping/sign-in-housekeeping';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { SessionsService } from '../src/sessions/sessions.service';
import { TenantsService } from '../src/tenants/tenants.service';
import { UsersRepository } from '../src/users/users.repository';
import { Stack } from './harness';

interface AuditItem {
  seq: number;
  type: string;
  outcome: string;
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/**
 * The tenant's sign-in policy, the second-factor gate, the audit events behind them, and the
 * client address as allow-lists see it (directly or through a trusted proxy).
 */
describe('sign-in policy, second-factor gate and audit events (real control plane, PostgreSQL)', () => {
  let stack: Stack;
  let proxied: Stack;
  const users: Record<string, { id: string; tenantId: string }> = {};

  beforeAll(async () => {
    stack = await Stack.start();
    // Behind a reverse proxy on the same host: X-Forwarded-For from loopback is believed.
    proxied = await Stack.start({ CAUSEWAY_TRUST_PROXY: 'loopback' });
    for (const s of [stack, proxied]) {
      await s.createTenant('acme');
      await s.createTenant('globex');
    }
    for (const [name, slug] of [
      ['alice', 'acme'],
      ['bob', 'globex'],
    ] as const) {
      const tenant = await stack.app.get(TenantsService).getBySlug(slug);
      const user = await stack.app
        .get(UsersRepository)
        .findOrCreate(tenant.id, `${name}@${slug}.test`, name, new Date());
      users[name] = { id: user.id, tenantId: tenant.id };
    }
  });

  afterAll(async () => {
    await proxied?.close();
    await stack?.close();
  });

  async function signIn(
    name: 'alice' | 'bob',
    secondFactor = false,
    on: Stack = stack,
  ): Promise<{ cookie: string; id: string }> {
    const user = users[name];
    if (!user) throw new Error(name);
    const { token, sessionId } = await on.app.get(SessionsService).open({
      tenantId: user.tenantId,
      userId: user.id,
      authMethod: 'email-code',
      secondFactor,
      ip: '127.0.0.1',
      userAgent: 'jest',
    });
    return { cookie: `${SESSION_COOKIE}=${token}`, id: sessionId };
  }

  async function auditOf(tenant: string, query = '', on: Stack = stack): Promise<AuditItem[]> {
    const res = await on.http().get(`/api/v1/tenants/${tenant}/audit-events${query}`).expect(200);
    return res.body.items as AuditItem[];
  }

  it('starts SSO-first: no passwords, emailed codes on, no required second factor', async () => {
    const res = await stack.http().get('/api/v1/tenants/acme/sign-in-policy').expect(200);
    expect(res.body).toEqual({
      passwordsAllowed: false,
      emailCodesAllowed: true,
      requireSecondFactor: false,
    });
    // No mail relay configured on this stack: the sign-in page does not offer emailed codes.
    const methods = await stack.anonymous().get('/api/v1/auth/acme/methods').expect(200);
    expect(methods.body).toMatchObject({ items: [], emailCode: false, password: false });
  });

  it('changes only the settings sent, refuses unknown ones, and records the change', async () => {
    const bad = await stack
      .http()
      .put('/api/v1/tenants/acme/sign-in-policy')
      .send({ passwordsAllowed: 'yes', allowEveryone: true })
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
    const res = await stack
      .http()
      .put('/api/v1/tenants/acme/sign-in-policy')
      .send({ passwordsAllowed: true })
      .expect(200);
    expect(res.body).toEqual({
      passwordsAllowed: true,
      emailCodesAllowed: true,
      requireSecondFactor: false,
    });
    const methods = await stack.anonymous().get('/api/v1/auth/acme/methods').expect(200);
    expect(methods.body.password).toBe(true);
    // Globex's policy did not move.
    const globex = await stack.http().get('/api/v1/tenants/globex/sign-in-policy').expect(200);
    expect(globex.body.passwordsAllowed).toBe(false);
    const events = await auditOf('acme', '?type=config.sign_in_policy.changed');
    expect(events).toEqual([
      expect.objectContaining({
        outcome: 'success',
        actor: 'operator:platform',
        details: expect.objectContaining({ passwordsAllowed: true }) as unknown,
      }),
    ]);
    expect(await auditOf('globex', '?type=config.sign_in_policy.changed')).toEqual([]);
  });

  it('lets no signed-in user read or change the policy or read the audit events', async () => {
    const alice = await signIn('alice');
    for (const [method, path] of [
      ['get', '/api/v1/tenants/acme/sign-in-policy'],
      ['put', '/api/v1/tenants/acme/sign-in-policy'],
      ['get', '/api/v1/tenants/acme/audit-events'],
    ] as const) {
      const res = await stack.anonymous()[method](path).set('Cookie', alice.cookie).send({});
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    }
  });

  it('holds a session without a second factor at the gate while the tenant requires one', async () => {
    const before = await signIn('alice');
    await stack
      .http()
      .put('/api/v1/tenants/acme/sign-in-policy')
      .send({ requireSecondFactor: true })
      .expect(200);
    await eventually(
      async () =>
        (await stack.anonymous().get('/api/v1/sessions').set('Cookie', before.cookie)).status ===
        403,
      { timeoutMs: 5000, what: 'the new policy applied' },
    );
    const held = await stack
      .anonymous()
      .get('/api/v1/sessions')
      .set('Cookie', before.cookie)
      .expect(403);
    expect(held.body.code).toBe('second_factor_required');
    // Who am I and sign out still answer, so the console can ask for the second factor.
    const me = await stack.anonymous().get('/api/v1/me').set('Cookie', before.cookie).expect(200);
    expect(me.body).toMatchObject({ secondFactor: false, secondFactorRequired: true });
    // A session that confirmed a second factor passes; Globex's users are not concerned.
    const confirmed = await signIn('alice', true);
    await stack.anonymous().get('/api/v1/sessions').set('Cookie', confirmed.cookie).expect(200);
    const bob = await signIn('bob');
    await stack.anonymous().get('/api/v1/sessions').set('Cookie', bob.cookie).expect(200);

    // Confirming gives the session a new token: the one from before no longer works.
    const session = await stack.app
      .get(SessionsService)
      .authenticate(before.cookie.split('=')[1] ?? '');
    const { token } = await stack.app.get(SessionsService).confirmSecondFactor(session);
    await stack
      .anonymous()
      .get('/api/v1/sessions')
      .set('Cookie', `${SESSION_COOKIE}=${token}`)
      .expect(200);
    const old = await stack.anonymous().get('/api/v1/me').set('Cookie', before.cookie).expect(401);
    expect(old.body.code).toBe('session_expired');

    await stack
      .anonymous()
      .post('/api/v1/auth/logout')
      .set('Cookie', held.request.cookies ?? '');
    await stack
      .http()
      .put('/api/v1/tenants/acme/sign-in-policy')
      .send({ requireSecondFactor: false })
      .expect(200);
  });

  it("records each refusal of the IP allow-list with the address, only in the tenant's own trail", async () => {
    const alice = await signIn('alice');
    await stack
      .http()
      .put('/api/v1/tenants/acme/allow-list')
      .send({ entries: ['10.0.0.0/8'] })
      .expect(200);
    // The client's own X-Forwarded-For is not believed on a stack that trusts no proxy.
    const refused = await stack
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', alice.cookie)
      .set('X-Forwarded-For', '10.1.2.3')
      .expect(403);
    expect(refused.body.code).toBe('address_not_allowed');
    const events = await auditOf('acme', '?type=access.address_refused');
    expect(events.at(-1)).toMatchObject({
      outcome: 'failure',
      actor: `user:${users.alice?.id}`,
      reason: 'address_not_allowed',
      ip: '127.0.0.1',
    });
    const changes = await auditOf('acme', '?type=config.allow_list.changed');
    expect(changes.at(-1)).toMatchObject({ details: { entries: '10.0.0.0/8' } });
    expect(await auditOf('globex', '?type=access.address_refused')).toEqual([]);
    await stack.http().put('/api/v1/tenants/acme/allow-list').send({ entries: [] }).expect(200);
  });

  it('believes X-Forwarded-For only from a trusted proxy (CAUSEWAY_TRUST_PROXY)', async () => {
    const tenant = await proxied.app.get(TenantsService).getBySlug('acme');
    const user = await proxied.app
      .get(UsersRepository)
      .findOrCreate(tenant.id, 'carol@acme.test', 'carol', new Date());
    const { token } = await proxied.app.get(SessionsService).open({
      tenantId: tenant.id,
      userId: user.id,
      authMethod: 'email-code',
      secondFactor: false,
      ip: null,
      userAgent: null,
    });
    const cookie = `${SESSION_COOKIE}=${token}`;
    await proxied
      .http()
      .put('/api/v1/tenants/acme/allow-list')
      .send({ entries: ['10.0.0.0/8'] })
      .expect(200);
    await proxied
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', cookie)
      .set('X-Forwarded-For', '10.1.2.3')
      .expect(200);
    await proxied
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', cookie)
      .set('X-Forwarded-For', '192.0.2.7')
      .expect(403);
    const events = await auditOf('acme', '?type=access.address_refused', proxied);
    expect(events.at(-1)?.ip).toBe('192.0.2.7');
  });

  it('filters and pages audit events, and refuses a malformed query', async () => {
    const all = await auditOf('acme');
    expect(all.length).toBeGreaterThan(2);
    const page = await stack.http().get('/api/v1/tenants/acme/audit-events?limit=2').expect(200);
    const seqs = (page.body.items as Array<{ seq: number }>).map((e) => e.seq);
    expect(seqs).toHaveLength(2);
    const next = await stack
      .http()
      .get(`/api/v1/tenants/acme/audit-events?after=${seqs[1]}&limit=1000`)
      .expect(200);
    // Reading the trail is recorded too: what came after the first read is left out.
    const lastSeq = all.at(-1)?.seq ?? 0;
    const before = (next.body.items as Array<{ seq: number }>).filter((e) => e.seq <= lastSeq);
    expect(before).toHaveLength(all.length - 2);
    const failures = await auditOf('acme', '?outcome=failure');
    expect(failures.every((e) => e.outcome === 'failure')).toBe(true);
    const bad = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events?type=no.such.event')
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
    await stack.http().get('/api/v1/tenants/nobody/audit-events').expect(404);
  });

  it('sweeps ended sessions and stale sign-in attempts, and keeps live ones', async () => {
    const live = await signIn('alice');
    const ended = await signIn('alice');
    const db = stack.app.get(DataSource);
    await db.query(`UPDATE sessions SET revoked_at = now() - interval '8 days' WHERE id = $1`, [
      ended.id,
    ]);
    const deleted = await stack.app.get(SignInHousekeeping).sweep();
    expect(deleted.sessions).toBeGreaterThanOrEqual(1);
    const left = await db.query<Array<{ id: string }>>(
      'SELECT id FROM sessions WHERE id = ANY($1)',
      [[live.id, ended.id]],
    );
    expect(left.map((r) => r.id)).toEqual([live.id]);
    await stack.anonymous().get('/api/v1/me').set('Cookie', live.cookie).expect(200);
  });
});
