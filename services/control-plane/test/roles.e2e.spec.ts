import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SESSION_COOKIE } from '../src/sessions/session-cookie';
import { SessionsService } from '../src/sessions/sessions.service';
import { TenantsService } from '../src/tenants/tenants.service';
import { UsersRepository } from '../src/users/users.repository';
import { Stack } from './harness';

type Person = 'olivia' | 'adam' | 'mia' | 'tom' | 'pat' | 'gus' | 'bob';

/**
 * Roles, assignments, "why may they?" and the users admin, on a real control plane and
 * PostgreSQL. People sign in as sign-in flows sign them in (SessionsService.open); workspaces
 * are rows of the tenant (no node process is needed to decide access to them).
 */
describe('roles and assignments (real control plane and PostgreSQL)', () => {
  let stack: Stack;
  const tenantIds: Record<string, string> = {};
  const ids = {} as Record<Person, string>;
  const cookies = {} as Record<Person, string>;
  const ws = { w1: randomUUID(), w2: randomUUID(), globex: randomUUID() };

  const db = () => stack.app.get(DataSource);
  const acme = '/api/v1/tenants/acme';
  const as = (who: Person) => stack.anonymous().set('Cookie', cookies[who]);

  async function signIn(who: Person): Promise<void> {
    const tenantId = who === 'bob' ? tenantIds.globex : tenantIds.acme;
    const { token } = await stack.app.get(SessionsService).open({
      tenantId,
      userId: ids[who],
      authMethod: 'oidc',
      secondFactor: false,
      ip: '127.0.0.1',
      userAgent: 'jest',
    });
    cookies[who] = `${SESSION_COOKIE}=${token}`;
  }

  async function assignAsOperator(body: Record<string, unknown>, tenant = 'acme') {
    const res = await stack.http().post(`/api/v1/tenants/${tenant}/role-assignments`).send(body);
    expect(res.status).toBe(201);
    return res.body as { id: string };
  }

  async function auditEvents(type: string): Promise<Array<Record<string, unknown>>> {
    const res = await stack.http().get(`${acme}/audit-events?type=${type}`).expect(200);
    return res.body.items as Array<Record<string, unknown>>;
  }

  const explain = async (params: Record<string, string>) =>
    (
      await stack
        .http()
        .get(`${acme}/access/explain?${new URLSearchParams(params).toString()}`)
        .expect(200)
    ).body as {
      allowed: boolean;
      explanation: string;
      because: Array<{ role: string; via: string; assignmentId: string | null }>;
      candidates?: string[];
    };

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    const tenants = stack.app.get(TenantsService);
    const users = stack.app.get(UsersRepository);
    for (const slug of ['acme', 'globex']) {
      const tenant = await tenants.getBySlug(slug);
      tenantIds[slug] = tenant.id;
      const nodeId = randomUUID();
      await db().query('INSERT INTO nodes (id, tenant_id, name, region) VALUES ($1, $2, $3, $4)', [
        nodeId,
        tenant.id,
        `${slug}-node`,
        'eu-west',
      ]);
      const workspaces = slug === 'acme' ? [ws.w1, ws.w2] : [ws.globex];
      for (const [i, id] of workspaces.entries()) {
        await db().query(
          `INSERT INTO workspaces (id, tenant_id, node_id, name, state) VALUES ($1, $2, $3, $4, 'ready')`,
          [id, tenant.id, nodeId, `${slug}-ws-${i}`],
        );
      }
    }
    const people: Array<[Person, string]> = [
      ['olivia', 'acme'],
      ['adam', 'acme'],
      ['mia', 'acme'],
      ['tom', 'acme'],
      ['pat', 'acme'],
      ['gus', 'acme'],
      ['bob', 'globex'],
    ];
    for (const [who, slug] of people) {
      const user = await users.findOrCreate(
        tenantIds[slug],
        `${who}@${slug}.test`,
        who,
        new Date(),
      );
      ids[who] = user.id;
    }
    await db().query(`UPDATE users SET kind = 'partner' WHERE id = $1`, [ids.pat]);
    await db().query(`UPDATE users SET sso_groups = '{eng}' WHERE id = $1`, [ids.gus]);
    await assignAsOperator({ role: 'owner', user: ids.olivia, scope: { type: 'tenant' } });
    await assignAsOperator({ role: 'admin', user: ids.adam, scope: { type: 'tenant' } });
    await assignAsOperator({ role: 'member', user: ids.mia, scope: { type: 'tenant' } });
    await assignAsOperator({ role: 'admin', user: ids.bob, scope: { type: 'tenant' } }, 'globex');
    for (const who of Object.keys(ids) as Person[]) await signIn(who);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('lists the six built-in roles with their permissions and where they may be assigned', async () => {
    const res = await as('mia').get(`${acme}/roles`).expect(403);
    expect(res.body.code).toBe('forbidden');
    const list = await as('adam').get(`${acme}/roles`).expect(200);
    const items = list.body.items as Array<Record<string, unknown>>;
    expect(items.map((r) => r.name)).toEqual([
      'owner',
      'admin',
      'auditor',
      'member',
      'partner-editor',
      'partner-viewer',
    ]);
    expect(items.find((r) => r.name === 'owner')).toMatchObject({
      builtIn: true,
      assignableScopes: ['tenant'],
    });
    expect(items.find((r) => r.name === 'partner-viewer')).toMatchObject({
      builtIn: true,
      permissions: ['workspaces.read', 'files.read'],
      assignableScopes: ['tenant', 'workspace', 'folder'],
    });
  });

  it('creates a custom role from a template, and refuses a superset, a template name and a duplicate', async () => {
    const created = await stack
      .http()
      .post(`${acme}/roles`)
      .send({
        name: 'reader',
        template: 'member',
        permissions: ['workspaces.read', 'files.read'],
        description: 'Reads files',
      })
      .expect(201);
    expect(created.body).toMatchObject({
      name: 'reader',
      builtIn: false,
      template: 'member',
      permissions: ['workspaces.read', 'files.read'],
      assignableScopes: ['tenant', 'workspace', 'folder'],
      createdBy: 'operator:platform',
    });
    // Permissions default to the template's.
    const whole = await stack
      .http()
      .post(`${acme}/roles`)
      .send({ name: 'all-of-auditor', template: 'auditor' })
      .expect(201);
    expect(whole.body.assignableScopes).toEqual(['tenant']);
    expect(whole.body.permissions).toContain('audit.read');

    const superset = await stack
      .http()
      .post(`${acme}/roles`)
      .send({ name: 'sneaky', template: 'member', permissions: ['files.read', 'users.manage'] })
      .expect(400);
    expect(superset.body.code).toBe('validation_failed');
    expect(superset.body.message).toContain('users.manage');
    expect(superset.body.details.extra).toEqual(['users.manage']);

    for (const body of [
      { name: 'admin', template: 'admin' },
      { name: 'Bad Name', template: 'member' },
      { name: 'x', template: 'member' },
      { name: 'ok-name', template: 'superuser' },
      { name: 'ok-name', template: 'member', permissions: ['no.such.permission'] },
    ]) {
      const res = await stack.http().post(`${acme}/roles`).send(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    const dup = await stack
      .http()
      .post(`${acme}/roles`)
      .send({ name: 'reader', template: 'partner-viewer' })
      .expect(409);
    expect(dup.body.code).toBe('conflict');

    const listed = await stack.http().get(`${acme}/roles`).expect(200);
    expect((listed.body.items as Array<{ name: string }>).map((r) => r.name)).toEqual(
      expect.arrayContaining(['reader', 'all-of-auditor']),
    );
    const audited = await auditEvents('config.role.created');
    expect(audited.map((e) => e.details)).toEqual(
      expect.arrayContaining([expect.objectContaining({ role: 'reader', template: 'member' })]),
    );
  });

  it('refuses an admin a custom role with a permission the admin lacks, and audits it', async () => {
    const res = await as('adam')
      .post(`${acme}/roles`)
      .send({ name: 'settings-bot', template: 'owner', permissions: ['tenant.settings.manage'] })
      .expect(403);
    expect(res.body.code).toBe('forbidden');
    expect(res.body.details.missing).toEqual(['tenant.settings.manage']);
    expect(res.body.message).toContain('tenant.settings.manage');
    const refused = await auditEvents('access.role.refused');
    expect(refused).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          outcome: 'failure',
          actor: `user:${ids.adam}`,
          details: expect.objectContaining({
            action: 'create-role',
            role: 'settings-bot',
            missing: 'tenant.settings.manage',
          }) as unknown,
        }),
      ]),
    );
    // What the admin holds, the admin may put in a role.
    await as('adam')
      .post(`${acme}/roles`)
      .send({ name: 'helpdesk', template: 'admin', permissions: ['users.read', 'users.manage'] })
      .expect(201);
    // Nor delete one: deleting ends its assignments, as removing each would.
    await stack
      .http()
      .post(`${acme}/roles`)
      .send({ name: 'settings-keeper', template: 'owner', permissions: ['tenant.settings.manage'] })
      .expect(201);
    const del = await as('adam').delete(`${acme}/roles/settings-keeper`).expect(403);
    expect(del.body.details.missing).toEqual(['tenant.settings.manage']);
    await as('olivia').delete(`${acme}/roles/settings-keeper`).expect(204);
    // A member may not manage roles at all.
    await as('mia').post(`${acme}/roles`).send({ name: 'mine', template: 'member' }).expect(403);
  });

  it('lets an admin assign member and partner roles but not owner (audited), and a member nothing', async () => {
    const member = await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'member', user: ids.tom, scope: { type: 'tenant' } })
      .expect(201);
    expect(member.body).toMatchObject({
      role: 'member',
      builtIn: true,
      principal: `user:${ids.tom}`,
      scope: { type: 'tenant' },
      createdBy: `user:${ids.adam}`,
    });
    const partner = await as('adam')
      .post(`${acme}/role-assignments`)
      .send({
        role: 'partner-viewer',
        user: ids.pat,
        scope: { type: 'workspace', workspaceId: ws.w2 },
      })
      .expect(201);
    expect(partner.body.scope).toEqual({ type: 'workspace', workspaceId: ws.w2 });

    const owner = await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'owner', user: ids.tom, scope: { type: 'tenant' } })
      .expect(403);
    expect(owner.body.code).toBe('forbidden');
    expect(owner.body.details.missing).toEqual(['tenant.settings.manage']);
    const refused = await auditEvents('access.role.refused');
    expect(refused).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: `user:${ids.adam}`,
          details: expect.objectContaining({
            action: 'assign',
            role: 'owner',
            principal: `user:${ids.tom}`,
            missing: 'tenant.settings.manage',
          }) as unknown,
        }),
      ]),
    );
    // The owner may.
    const byOwner = await as('olivia')
      .post(`${acme}/role-assignments`)
      .send({ role: 'auditor', user: ids.tom, scope: { type: 'tenant' } })
      .expect(201);
    await stack
      .http()
      .delete(`${acme}/role-assignments/${byOwner.body.id as string}`)
      .expect(204);

    const byMember = await as('mia')
      .post(`${acme}/role-assignments`)
      .send({
        role: 'partner-viewer',
        user: ids.pat,
        scope: { type: 'workspace', workspaceId: ws.w1 },
      })
      .expect(403);
    expect(byMember.body.code).toBe('forbidden');

    // Duplicates are refused; so are requests naming both or neither of user and group.
    const dup = await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'member', user: ids.tom, scope: { type: 'tenant' } })
      .expect(409);
    expect(dup.body.code).toBe('conflict');
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'member', user: ids.tom, group: 'eng', scope: { type: 'tenant' } })
      .expect(400);
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'member', scope: { type: 'tenant' } })
      .expect(400);
    // A role with tenant-level permissions is assigned on the tenant only; unknown roles: 404.
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'auditor', user: ids.tom, scope: { type: 'workspace', workspaceId: ws.w1 } })
      .expect(400);
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'no-such-role', user: ids.tom, scope: { type: 'tenant' } })
      .expect(404);

    const listed = await as('adam').get(`${acme}/role-assignments?user=${ids.tom}`).expect(200);
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id: member.body.id as string, role: 'member' }),
    ]);
    const onW2 = await as('adam').get(`${acme}/role-assignments?workspace=${ws.w2}`).expect(200);
    expect(onW2.body.items).toEqual([
      expect.objectContaining({ id: partner.body.id as string, principal: `user:${ids.pat}` }),
    ]);
    expect((await auditEvents('access.role.assigned')).length).toBeGreaterThanOrEqual(5);
  });

  it('lets an admin remove what the admin could assign, but not an owner assignment', async () => {
    const owners = await stack
      .http()
      .get(`${acme}/role-assignments?user=${ids.olivia}`)
      .expect(200);
    const ownerAssignment = (owners.body.items as Array<{ id: string }>)[0]?.id;
    const res = await as('adam').delete(`${acme}/role-assignments/${ownerAssignment}`).expect(403);
    expect(res.body.details.missing).toEqual(['tenant.settings.manage']);
    const refused = await auditEvents('access.role.refused');
    expect(refused.map((e) => (e.details as Record<string, unknown>).action)).toContain('unassign');
    await as('olivia').get(`${acme}/roles`).expect(200);
  });

  it('gives a group assignment to the users of that SSO group', async () => {
    await as('gus').get(`${acme}/workspaces/${ws.w1}`).expect(403);
    const a = await as('adam')
      .post(`${acme}/role-assignments`)
      .send({
        role: 'partner-editor',
        group: 'eng',
        scope: { type: 'workspace', workspaceId: ws.w1 },
      })
      .expect(201);
    expect(a.body.principal).toBe('group:eng');
    const w1 = await as('gus').get(`${acme}/workspaces/${ws.w1}`).expect(200);
    expect(w1.body.id).toBe(ws.w1);
    await as('gus').get(`${acme}/workspaces/${ws.w2}`).expect(403);
    await as('tom').get(`${acme}/workspaces/${ws.w1}`).expect(200); // tom: member on the tenant
    const why = await explain({ user: ids.gus, permission: 'files.write', workspace: ws.w1 });
    expect(why.allowed).toBe(true);
    expect(why.because).toEqual([
      expect.objectContaining({
        role: 'partner-editor',
        via: 'group:eng',
        assignmentId: a.body.id as string,
      }),
    ]);
    expect(why.explanation).toContain('SSO group "eng"');
    const elsewhere = await explain({ user: ids.gus, permission: 'files.write', workspace: ws.w2 });
    expect(elsewhere.allowed).toBe(false);
    expect(elsewhere.candidates).toEqual(expect.arrayContaining(['member', 'partner-editor']));
    expect(elsewhere.explanation).toContain('only elsewhere');
    const listed = await as('adam').get(`${acme}/role-assignments?group=eng`).expect(200);
    expect(listed.body.items).toHaveLength(1);
  });

  it('scopes a folder assignment to the folder: allowed below it, denied in a sibling, the workspace visible', async () => {
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({
        role: 'partner-editor',
        user: ids.pat,
        scope: { type: 'folder', workspaceId: ws.w1, folder: '/contracts/' },
      })
      .expect(201)
      .expect((res) => {
        // Stored canonical: no trailing slash.
        expect(res.body.scope).toEqual({
          type: 'folder',
          workspaceId: ws.w1,
          folder: '/contracts',
        });
      });
    for (const folder of ['contracts', '/a/../b', '/a//b']) {
      await as('adam')
        .post(`${acme}/role-assignments`)
        .send({
          role: 'partner-editor',
          user: ids.pat,
          scope: { type: 'folder', workspaceId: ws.w1, folder },
        })
        .expect(400);
    }
    const below = await explain({
      user: ids.pat,
      permission: 'files.write',
      workspace: ws.w1,
      folder: '/contracts/2026',
    });
    expect(below.allowed).toBe(true);
    expect(below.because[0]).toMatchObject({ role: 'partner-editor', via: 'user' });
    expect(below.explanation).toContain('folder /contracts of workspace');

    const sibling = await explain({
      user: ids.pat,
      permission: 'files.write',
      workspace: ws.w1,
      folder: '/contractsX',
    });
    expect(sibling.allowed).toBe(false);
    // A partner is only offered roles that can be assigned on a workspace or folder.
    expect(sibling.candidates).toEqual(['member', 'partner-editor']);
    expect(sibling.explanation).toContain('may not use "files.write" in folder /contractsX');

    const workspace = await explain({
      user: ids.pat,
      permission: 'workspaces.read',
      workspace: ws.w1,
    });
    expect(workspace.allowed).toBe(true);
    // Through the guard, the same: the workspace is visible, a sibling folder is not writable.
    await as('pat').get(`${acme}/workspaces/${ws.w1}`).expect(200);
    await as('pat').get(`${acme}/workspaces/${ws.w1}?folder=/contracts/2026`).expect(200);
  });

  it('refuses a partner a tenant-wide role, and explains that partners never get tenant permissions', async () => {
    const res = await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'partner-viewer', user: ids.pat, scope: { type: 'tenant' } })
      .expect(400);
    expect(res.body.message).toContain('partner');
    const why = await explain({ user: ids.pat, permission: 'users.read' });
    expect(why.allowed).toBe(false);
    expect(why.candidates).toEqual([]);
    expect(why.explanation).toContain('partner');
    // A tenant-wide role assigned to a partner's group does not reach them either.
    await db().query(`UPDATE users SET sso_groups = '{eng}' WHERE id = $1`, [ids.pat]);
    await assignAsOperator({ role: 'member', group: 'eng', scope: { type: 'tenant' } });
    await as('pat').get(`${acme}/workspaces/${ws.w2}?folder=/x`).expect(200); // partner-viewer on w2
    const tenantRead = await explain({ user: ids.pat, permission: 'tenant.read' });
    expect(tenantRead.allowed).toBe(false);
  });

  it('explains platform permissions, users without roles, and a disabled user', async () => {
    const platform = await explain({ user: ids.adam, permission: 'nodes.revoke' });
    expect(platform).toMatchObject({ allowed: false, candidates: [] });
    expect(platform.explanation).toContain('platform permission');
    const owner = await explain({ user: ids.olivia, permission: 'tenant.settings.manage' });
    expect(owner.allowed).toBe(true);
    expect(owner.explanation).toContain('role "owner" assigned to them on the whole tenant');
    const admin = await explain({ user: ids.adam, permission: 'tenant.settings.manage' });
    expect(admin.allowed).toBe(false);
    expect(admin.candidates).toEqual(['owner']);
    expect(admin.explanation).toContain('none of');
    expect(admin.explanation).toContain('owner');
    // Validation and not-found answers.
    await stack.http().get(`${acme}/access/explain?user=${ids.adam}&permission=nope`).expect(400);
    await stack
      .http()
      .get(`${acme}/access/explain?user=${ids.adam}&permission=files.read&folder=/a`)
      .expect(400);
    await stack
      .http()
      .get(
        `${acme}/access/explain?user=${ids.adam}&permission=files.read&workspace=${ws.w1}&folder=/a/../b`,
      )
      .expect(400);
    // The member may not ask.
    await as('mia')
      .get(`${acme}/access/explain?user=${ids.adam}&permission=files.read`)
      .expect(403);
  });

  it('makes a removal take effect at the next request', async () => {
    await as('tom').get(`${acme}/workspaces/${ws.w2}`).expect(200);
    const list = await as('adam').get(`${acme}/role-assignments?user=${ids.tom}`).expect(200);
    const id = (list.body.items as Array<{ id: string; role: string }>).find(
      (a) => a.role === 'member',
    )?.id as string;
    await as('adam').delete(`${acme}/role-assignments/${id}`).expect(204);
    const denied = await as('tom').get(`${acme}/workspaces/${ws.w2}`).expect(403);
    expect(denied.body.code).toBe('forbidden');
    const why = await explain({ user: ids.tom, permission: 'workspaces.read', workspace: ws.w2 });
    expect(why.allowed).toBe(false);
    expect(why.explanation).toContain('holds no role');
    expect(why.candidates).toEqual(expect.arrayContaining(['member', 'partner-viewer', 'reader']));
    await as('adam').delete(`${acme}/role-assignments/${id}`).expect(404);
    const removed = await auditEvents('access.role.removed');
    expect(removed.map((e) => (e.details as Record<string, unknown>).assignmentId)).toContain(id);
  });

  it('deletes a custom role with its assignments; built-in roles cannot be deleted', async () => {
    const a = await assignAsOperator({
      role: 'reader',
      user: ids.tom,
      scope: { type: 'workspace', workspaceId: ws.w1 },
    });
    await as('tom').get(`${acme}/workspaces/${ws.w1}`).expect(200);
    await as('adam').delete(`${acme}/roles/member`).expect(400);
    await as('mia').delete(`${acme}/roles/reader`).expect(403);
    await as('adam').delete(`${acme}/roles/reader`).expect(204);
    await as('adam').delete(`${acme}/roles/reader`).expect(404);
    await as('tom').get(`${acme}/workspaces/${ws.w1}`).expect(403);
    const rows = await db().query<unknown[]>('SELECT 1 FROM role_assignments WHERE id = $1', [
      a.id,
    ]);
    expect(rows).toHaveLength(0);
    const deleted = await auditEvents('config.role.deleted');
    expect(deleted.map((e) => e.details)).toEqual(
      expect.arrayContaining([expect.objectContaining({ role: 'reader', assignmentsRemoved: 1 })]),
    );
  });

  it("answers another tenant's role, assignment, user and workspace as not found", async () => {
    const globexRole = await stack
      .http()
      .post('/api/v1/tenants/globex/roles')
      .send({ name: 'globex-only', template: 'partner-editor' })
      .expect(201);
    expect(globexRole.body.name).toBe('globex-only');
    const globexAssignment = await assignAsOperator(
      { role: 'globex-only', user: ids.bob, scope: { type: 'workspace', workspaceId: ws.globex } },
      'globex',
    );
    // Acme's admin, in acme's own tenant path.
    await as('adam').delete(`${acme}/roles/globex-only`).expect(404);
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'globex-only', user: ids.tom, scope: { type: 'tenant' } })
      .expect(404);
    await as('adam').delete(`${acme}/role-assignments/${globexAssignment.id}`).expect(404);
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({ role: 'member', user: ids.bob, scope: { type: 'tenant' } })
      .expect(404);
    await as('adam')
      .post(`${acme}/role-assignments`)
      .send({
        role: 'partner-viewer',
        user: ids.tom,
        scope: { type: 'workspace', workspaceId: ws.globex },
      })
      .expect(404);
    await as('adam')
      .get(`${acme}/access/explain?user=${ids.bob}&permission=files.read`)
      .expect(404);
    await as('adam').post(`${acme}/users/${ids.bob}/disable`).expect(404);
    // Acme's admin on globex's path; globex's admin on acme's.
    const other = await as('adam').get('/api/v1/tenants/globex/roles').expect(404);
    expect(other.body.code).toBe('not_found');
    await as('bob').get(`${acme}/role-assignments`).expect(404);
    await as('bob').get(`${acme}/users`).expect(404);
    const globexUsers = await as('bob').get('/api/v1/tenants/globex/users').expect(200);
    expect((globexUsers.body.items as Array<{ id: string }>).map((u) => u.id)).toEqual([ids.bob]);
    // The operator too finds nothing of globex under acme.
    await stack.http().delete(`${acme}/role-assignments/${globexAssignment.id}`).expect(404);
    await stack.http().delete('/api/v1/tenants/globex/role-assignments/not-a-uuid').expect(400);
  });

  it('lists, adds, disables and enables users; a disabled user is signed out', async () => {
    const list = await as('adam').get(`${acme}/users`).expect(200);
    const items = list.body.items as Array<Record<string, unknown>>;
    expect(items.map((u) => u.email)).toEqual(
      expect.arrayContaining(['tom@acme.test', 'pat@acme.test']),
    );
    expect(items.find((u) => u.id === ids.pat)).toMatchObject({ kind: 'partner', disabled: false });
    for (const u of items) {
      expect(Object.keys(u).sort()).toEqual(
        ['createdAt', 'disabled', 'displayName', 'email', 'id', 'kind'].sort(),
      );
    }
    await as('mia').get(`${acme}/users`).expect(403);

    const added = await as('adam')
      .post(`${acme}/users`)
      .send({ email: 'new@partner.test', displayName: 'New Partner', kind: 'partner' })
      .expect(201);
    expect(added.body).toMatchObject({
      email: 'new@partner.test',
      kind: 'partner',
      disabled: false,
    });
    await as('adam').post(`${acme}/users`).send({ email: 'NEW@partner.test' }).expect(409);
    await as('adam').post(`${acme}/users`).send({ email: 'not-an-email' }).expect(400);
    const plain = await stack
      .http()
      .post(`${acme}/users`)
      .send({ email: 'plain@acme.test' })
      .expect(201);
    expect(plain.body.kind).toBe('member');
    expect((await auditEvents('admin.user.created')).length).toBe(2);

    await as('adam').post(`${acme}/users/${ids.adam}/disable`).expect(400);
    await as('mia').post(`${acme}/users/${ids.tom}/disable`).expect(403);
    await as('tom').get('/api/v1/me').expect(200);
    const disabled = await as('adam').post(`${acme}/users/${ids.tom}/disable`).expect(200);
    expect(disabled.body).toMatchObject({ id: ids.tom, disabled: true });
    const gone = await as('tom').get('/api/v1/me').expect(401);
    expect(gone.body.code).toBe('session_expired');
    const why = await explain({ user: ids.tom, permission: 'account.self' });
    expect(why.explanation).toContain('disabled');
    const events = await auditEvents('admin.user.disabled');
    expect(events[0]).toMatchObject({ actor: `user:${ids.adam}`, details: { userId: ids.tom } });

    const enabled = await as('adam').post(`${acme}/users/${ids.tom}/enable`).expect(200);
    expect(enabled.body.disabled).toBe(false);
    expect((await auditEvents('admin.user.enabled')).length).toBe(1);
    // The old session stays ended; a new sign-in works.
    await as('tom').get('/api/v1/me').expect(401);
    await signIn('tom');
    await as('tom').get('/api/v1/me').expect(200);
  });
});
