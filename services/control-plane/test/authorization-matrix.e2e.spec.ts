import { DataSource } from 'typeorm';
import {
  PERMISSIONS,
  ROLE_TEMPLATES,
  type Permission,
  type RoleTemplate,
} from '@causeway/contracts';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { SessionsService } from '../src/sessions/sessions.service';
import { TenantsService } from '../src/tenants/tenants.service';
import { UsersRepository } from '../src/users/users.repository';
import { Stack } from './harness';
import { routeTable, type Route } from './route-table';

/**
 * The authorisation matrix, generated from the application's route table: every protected
 * route, for a user holding each role template (and one holding none), in their own tenant, in
 * a workspace not shared with them, and in another tenant. The expectation is written from the
 * role templates and the scope rules alone:
 *
 * - self routes (your own account) are open to every signed-in user;
 * - platform routes (no tenant in the path, or a platform permission) to no user;
 * - another tenant's routes answer 404, as if the tenant did not exist;
 * - in the own tenant, a role held on the tenant allows exactly its template's permissions; a
 *   partner role held on one workspace allows its workspace permissions there only (and on
 *   lists, which then show only that workspace), never a tenant permission.
 */

type Holder = RoleTemplate | 'nobody';
const HOLDERS: Holder[] = [
  'owner',
  'admin',
  'auditor',
  'member',
  'partner-editor',
  'partner-viewer',
  'nobody',
];
const PARTNER_ROLES: Holder[] = ['partner-editor', 'partner-viewer'];
const ANY_ID = '00000000-0000-4000-8000-000000000000';

interface Case {
  where: 'own tenant' | 'unshared workspace' | 'other tenant';
  path: string;
}

describe('authorisation matrix: every route × every role × own and other tenant', () => {
  let stack: Stack;
  let routes: Route[];
  const ws = { shared: '', unshared: '', other: '' };
  const userOf = new Map<Holder, { id: string; tenantId: string }>();

  async function workspace(tenant: string, name: string, node: string): Promise<string> {
    const res = await stack
      .http()
      .post(`/api/v1/tenants/${tenant}/workspaces`)
      .send({ name, node })
      .expect(202);
    return res.body.id as string;
  }

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    const acmeNode = await stack.registerNode('acme', 'acme-node');
    const globexNode = await stack.registerNode('globex', 'globex-node');
    ws.shared = await workspace('acme', 'shared-with-partners', acmeNode.id);
    ws.unshared = await workspace('acme', 'internal', acmeNode.id);
    ws.other = await workspace('globex', 'globex-internal', globexNode.id);

    const acme = await stack.app.get(TenantsService).getBySlug('acme');
    const db = stack.app.get(DataSource);
    for (const holder of HOLDERS) {
      const user = await stack.app
        .get(UsersRepository)
        .findOrCreate(acme.id, `${holder}@acme.test`, holder, new Date());
      userOf.set(holder, { id: user.id, tenantId: acme.id });
      if (holder === 'nobody') continue;
      const partner = PARTNER_ROLES.includes(holder);
      if (partner) await db.query(`UPDATE users SET kind = 'partner' WHERE id = $1`, [user.id]);
      await db.query(
        `INSERT INTO role_assignments (id, tenant_id, role_name, principal, scope_type, workspace_id,
           created_at, created_by)
         VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, now(), 'test')`,
        [
          acme.id,
          holder,
          `user:${user.id}`,
          partner ? 'workspace' : 'tenant',
          partner ? ws.shared : null,
        ],
      );
    }
    routes = routeTable(stack).filter((r) => !r.isPublic);
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** A fresh session for each request: some routes (sign out) end the one they are called with. */
  async function cookieOf(holder: Holder): Promise<string> {
    const user = userOf.get(holder);
    if (!user) throw new Error(holder);
    const { token } = await stack.app.get(SessionsService).open({
      tenantId: user.tenantId,
      userId: user.id,
      authMethod: 'password',
      secondFactor: true,
      ip: '127.0.0.1',
      userAgent: 'matrix',
    });
    return `${SESSION_COOKIE}=${token}`;
  }

  function casesOf(route: Route): Case[] {
    const fill = (tenant: string, workspaceId: string) =>
      route.path
        .replace(/:tenant\b/g, tenant)
        .replace(/:(ws|workspace)\b/g, workspaceId)
        .replace(/:[A-Za-z]+/g, ANY_ID);
    const cases: Case[] = [{ where: 'own tenant', path: fill('acme', ws.shared) }];
    if (/:(ws|workspace)\b/.test(route.path)) {
      cases.push({ where: 'unshared workspace', path: fill('acme', ws.unshared) });
    }
    if (/:(tenant|ws|workspace)\b/.test(route.path)) {
      cases.push({ where: 'other tenant', path: fill('globex', ws.other) });
    }
    return cases;
  }

  /** What the templates and scope rules say, independent of the guard's code. */
  function expected(route: Route, holder: Holder, where: Case['where']): 'allow' | 'deny' {
    const permission = route.permission as Permission;
    const level = PERMISSIONS[permission].level;
    if (level === 'self') return 'allow';
    const tenantRoute = /:(tenant|ws|workspace)\b/.test(route.path);
    if (level === 'platform' || !tenantRoute || where === 'other tenant') return 'deny';
    if (holder === 'nobody') return 'deny';
    const granted = (ROLE_TEMPLATES[holder].permissions as readonly Permission[]).includes(
      permission,
    );
    if (!PARTNER_ROLES.includes(holder)) return granted ? 'allow' : 'deny';
    // A partner's role is on the shared workspace only, and reaches no tenant permission.
    if (!granted || level !== 'workspace') return 'deny';
    return where === 'unshared workspace' ? 'deny' : 'allow';
  }

  it('covers the whole route table', () => {
    const paths = routes.map((r) => `${r.method} ${r.path}`);
    expect(paths.length).toBeGreaterThan(25);
    expect(paths).toEqual(
      expect.arrayContaining([
        'GET /api/v1/tenants/:tenant/workspaces/:ws',
        'PATCH /api/v1/tenants/:tenant/workspaces/:ws',
        'DELETE /api/v1/workspaces/:ws/uploads/:upload',
        'PUT /api/v1/tenants/:tenant/allow-list',
        'GET /api/v1/tenants/:tenant/audit-events',
        'GET /api/v1/tenants/:tenant/audit-events/export',
        'POST /api/v1/tenants/:tenant/workspaces/:ws/keys/rotate',
        'GET /api/v1/tenants/:tenant/workspaces/:ws/keys',
        'GET /api/v1/me',
      ]),
    );
  });

  it('allows and denies exactly as the roles say, for every route, role and tenant', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const route of routes) {
      for (const holder of HOLDERS) {
        for (const c of casesOf(route)) {
          const want = expected(route, holder, c.where);
          const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete' | 'patch';
          const agent = stack.anonymous();
          const res = await agent[method](c.path)
            .set('Cookie', await cookieOf(holder))
            .send({});
          const code = (res.body as { code?: string }).code;
          const message = String((res.body as { message?: string }).message ?? '');
          // The guard's refusals: 403 forbidden in the own tenant; another tenant's (or a
          // workspace outside the tenant) answered exactly like a missing one.
          const refusedByGuard =
            res.status === 401 ||
            (res.status === 403 && code === 'forbidden') ||
            (res.status === 404 && /^No (tenant|workspace)\b/.test(message));
          const got = refusedByGuard ? 'deny' : 'allow';
          checked += 1;
          if (got !== want) {
            mismatches.push(
              `${route.method} ${route.path} as ${holder} in ${c.where}: expected ${want}, got ${res.status} ${code ?? ''} ${message}`,
            );
          }
          if (want === 'deny' && c.where === 'other tenant' && res.status !== 404) {
            mismatches.push(
              `${route.method} ${route.path} as ${holder}: another tenant answered ${res.status}, not 404`,
            );
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
    expect(mismatches).toEqual([]);
    // About a thousand requests, one after another: more than the default test time on a busy machine.
  }, 240_000);

  it('shows a partner only the workspaces shared with them', async () => {
    for (const holder of PARTNER_ROLES) {
      const list = await stack
        .anonymous()
        .get('/api/v1/tenants/acme/workspaces')
        .set('Cookie', await cookieOf(holder))
        .expect(200);
      expect((list.body.items as Array<{ id: string }>).map((w) => w.id)).toEqual([ws.shared]);
    }
    const owner = await stack
      .anonymous()
      .get('/api/v1/tenants/acme/workspaces')
      .set('Cookie', await cookieOf('owner'))
      .expect(200);
    expect((owner.body.items as Array<{ id: string }>).map((w) => w.id).sort()).toEqual(
      [ws.shared, ws.unshared].sort(),
    );
  });
});
