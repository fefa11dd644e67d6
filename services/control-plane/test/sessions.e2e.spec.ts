import { DataSource } from 'typeorm';
import { eventually } from '@causeway/testing';
import { sessionCookie, SESSION_COOKIE } from '../src/sessions/session-cookie';
import { SessionsService } from '../src/sessions/sessions.service';
import { TenantsService } from '../src/tenants/tenants.service';
import { UsersRepository } from '../src/users/users.repository';
import { Stack } from './harness';

/**
 * Server-side sessions behind the session cookie. Sign-in flows (OIDC, SAML, emailed codes)
 * open sessions through SessionsService.open; here the test opens them the same way.
 */
describe('sessions (real control plane and PostgreSQL)', () => {
  let stack: Stack;
  const users: Record<string, { id: string; tenantId: string }> = {};

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    const tenants = stack.app.get(TenantsService);
    const repo = stack.app.get(UsersRepository);
    for (const [name, slug] of [
      ['alice', 'acme'],
      ['bob', 'globex'],
    ] as const) {
      const tenant = await tenants.getBySlug(slug);
      const user = await repo.findOrCreate(tenant.id, `${name}@${slug}.test`, name, new Date());
      users[name] = { id: user.id, tenantId: tenant.id };
    }
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function signIn(name: 'alice' | 'bob'): Promise<{ cookie: string; id: string }> {
    const user = users[name];
    if (!user) throw new Error(name);
    const { token, sessionId } = await stack.app.get(SessionsService).open({
      tenantId: user.tenantId,
      userId: user.id,
      authMethod: 'oidc',
      secondFactor: false,
      ip: '127.0.0.1',
      userAgent: 'jest',
    });
    return { cookie: `${SESSION_COOKIE}=${token}`, id: sessionId };
  }

  const db = () => stack.app.get(DataSource);

  it('sets the cookie httpOnly, Secure, SameSite=Lax, for the whole site', () => {
    const header = sessionCookie('x'.repeat(43), 3_600_000);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('Secure');
    expect(header).toContain('SameSite=Lax');
    expect(header).toContain('Path=/');
    expect(header).toContain('Max-Age=3600');
  });

  it('knows the signed-in user by the cookie, and nobody without one', async () => {
    const { cookie } = await signIn('alice');
    const me = await stack.anonymous().get('/api/v1/me').set('Cookie', cookie).expect(200);
    expect(me.body).toMatchObject({ kind: 'user', id: users.alice?.id, email: 'alice@acme.test' });
    const none = await stack.anonymous().get('/api/v1/me').expect(401);
    expect(none.body.code).toBe('unauthenticated');
    const forged = await stack
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', `${SESSION_COOKIE}=${'A'.repeat(43)}`)
      .expect(401);
    expect(forged.body.code).toBe('session_expired');
    // A signed-in user holds no tenant or platform permission before roles exist.
    const nodes = await stack.anonymous().get('/api/v1/nodes').set('Cookie', cookie).expect(403);
    expect(nodes.body.code).toBe('forbidden');
  });

  it("lists and ends one's own sessions only; another tenant's user cannot touch them", async () => {
    const first = await signIn('alice');
    const second = await signIn('alice');
    const bob = await signIn('bob');
    const listed = await stack
      .anonymous()
      .get('/api/v1/sessions')
      .set('Cookie', first.cookie)
      .expect(200);
    const items = listed.body.items as Array<{ id: string; current: boolean }>;
    expect(items.map((s) => s.id)).toEqual(expect.arrayContaining([first.id, second.id]));
    expect(items.find((s) => s.id === first.id)?.current).toBe(true);
    const bobs = await stack
      .anonymous()
      .get('/api/v1/sessions')
      .set('Cookie', bob.cookie)
      .expect(200);
    expect((bobs.body.items as Array<{ id: string }>).map((s) => s.id)).toEqual([bob.id]);
    // Bob cannot end Alice's session: answered like a missing one.
    await stack
      .anonymous()
      .delete(`/api/v1/sessions/${second.id}`)
      .set('Cookie', bob.cookie)
      .expect(404);
    await stack.anonymous().get('/api/v1/me').set('Cookie', second.cookie).expect(200);
    // Alice ends her second session from the first; the second stops working at once.
    await stack
      .anonymous()
      .delete(`/api/v1/sessions/${second.id}`)
      .set('Cookie', first.cookie)
      .expect(204);
    const ended = await stack
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', second.cookie)
      .expect(401);
    expect(ended.body.code).toBe('session_expired');
    await stack.anonymous().get('/api/v1/me').set('Cookie', first.cookie).expect(200);
  });

  it('signs out: the session ends and the cookie is cleared', async () => {
    const { cookie } = await signIn('alice');
    const res = await stack
      .anonymous()
      .post('/api/v1/auth/logout')
      .set('Cookie', cookie)
      .expect(204);
    expect(String(res.headers['set-cookie'])).toContain(`${SESSION_COOKIE}=;`);
    expect(String(res.headers['set-cookie'])).toContain('Max-Age=0');
    await stack.anonymous().get('/api/v1/me').set('Cookie', cookie).expect(401);
  });

  it('ends a session after the idle timeout and after the absolute timeout', async () => {
    const idle = await signIn('alice');
    const old = await signIn('alice');
    const used = await signIn('alice');
    // Time passes without requests (31 minutes > 30), or since sign-in (past the absolute end),
    // or a little (2 minutes, within the idle window).
    await db().query(
      `UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1`,
      [idle.id],
    );
    await db().query(
      `UPDATE sessions SET absolute_expires_at = now() - interval '1 second' WHERE id = $1`,
      [old.id],
    );
    await db().query(
      `UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1`,
      [used.id],
    );
    await stack.anonymous().get('/api/v1/me').set('Cookie', idle.cookie).expect(401);
    await stack.anonymous().get('/api/v1/me').set('Cookie', old.cookie).expect(401);
    await stack.anonymous().get('/api/v1/me').set('Cookie', used.cookie).expect(200);
    // Using it moved its idle window on.
    const rows = await db().query<Array<{ seconds: number }>>(
      `SELECT extract(epoch FROM now() - last_seen_at) AS seconds FROM sessions WHERE id = $1`,
      [used.id],
    );
    expect(Number(rows[0]?.seconds)).toBeLessThan(60);
  });

  it("lets an admin sign a user out everywhere, only within the user's tenant", async () => {
    const a = await signIn('alice');
    const b = await signIn('alice');
    await stack
      .http()
      .delete(`/api/v1/tenants/globex/users/${users.alice?.id}/sessions`)
      .expect(404);
    await stack.anonymous().get('/api/v1/me').set('Cookie', a.cookie).expect(200);
    const res = await stack
      .http()
      .delete(`/api/v1/tenants/acme/users/${users.alice?.id}/sessions`)
      .expect(200);
    expect(res.body.revoked).toBeGreaterThanOrEqual(2);
    for (const s of [a, b]) {
      await stack.anonymous().get('/api/v1/me').set('Cookie', s.cookie).expect(401);
    }
    // A user cannot do it: the permission is an admin's.
    const bob = await signIn('bob');
    await stack
      .anonymous()
      .delete(`/api/v1/tenants/globex/users/${users.bob?.id}/sessions`)
      .set('Cookie', bob.cookie)
      .expect(403);
  });

  it("turns away a tenant's users outside its IP allow-list, on every request", async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    const bad = await stack
      .http()
      .put('/api/v1/tenants/acme/allow-list')
      .send({ entries: ['10.0.0.0/8', '10.0.0.1/8'] })
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.message).toContain('10.0.0.1/8');
    // Acme allows only its office network: this test connects from 127.0.0.1.
    await stack
      .http()
      .put('/api/v1/tenants/acme/allow-list')
      .send({ entries: ['10.0.0.0/8', '2001:db8::/32'] })
      .expect(200);
    const refused = await stack
      .anonymous()
      .get('/api/v1/me')
      .set('Cookie', alice.cookie)
      .expect(403);
    expect(refused.body.code).toBe('address_not_allowed');
    expect(stack.logs.some((l) => l.includes('access.address_refused'))).toBe(true);
    // Another tenant's list does not touch Globex's users.
    await stack.anonymous().get('/api/v1/me').set('Cookie', bob.cookie).expect(200);
    // Allowing the loopback network lets Alice back in; an empty list allows everyone.
    const updated = await stack
      .http()
      .put('/api/v1/tenants/acme/allow-list')
      .send({ entries: ['10.0.0.0/8', '127.0.0.0/8'] })
      .expect(200);
    expect(updated.body.entries).toEqual(['10.0.0.0/8', '127.0.0.0/8']);
    await eventually(
      async () =>
        (await stack.anonymous().get('/api/v1/me').set('Cookie', alice.cookie)).status === 200,
      { timeoutMs: 5000, what: 'the new allow-list applied' },
    );
    await stack.http().put('/api/v1/tenants/acme/allow-list').send({ entries: [] }).expect(200);
    // Users cannot change it.
    await stack
      .anonymous()
      .put('/api/v1/tenants/acme/allow-list')
      .set('Cookie', alice.cookie)
      .send({ entries: [] })
      .expect(403);
  });
});
