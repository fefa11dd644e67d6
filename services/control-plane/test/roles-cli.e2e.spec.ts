import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ServiceProcess } from '@causeway/testing';
import { TenantsService } from '../src/tenants/tenants.service';
import { Stack } from './harness';

/**
 * The `causeway` admin CLI (from dist/: build first) against a running control plane: roles,
 * assignments, explain and users, as an operator would type them.
 */
describe('causeway roles / access / users (admin CLI against a real control plane)', () => {
  let stack: Stack;
  const workspaceId = randomUUID();

  async function causeway(
    ...args: string[]
  ): Promise<{ code: number | null; out: string; err: string }> {
    const proc = new ServiceProcess(
      'services/control-plane/dist/admin-cli/main.js',
      { CAUSEWAY_TOKEN: stack.config.adminToken, CAUSEWAY_URL: stack.url },
      args,
    );
    const code = await proc.exited;
    return { code, out: proc.lines.join('\n'), err: proc.stderr.join('') };
  }

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    const tenant = await stack.app.get(TenantsService).getBySlug('acme');
    const db = stack.app.get(DataSource);
    const nodeId = randomUUID();
    await db.query('INSERT INTO nodes (id, tenant_id, name, region) VALUES ($1, $2, $3, $4)', [
      nodeId,
      tenant.id,
      'acme-node',
      'eu-west',
    ]);
    await db.query(
      `INSERT INTO workspaces (id, tenant_id, node_id, name, state) VALUES ($1, $2, $3, 'deals', 'ready')`,
      [workspaceId, tenant.id, nodeId],
    );
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('names the roles, access and users commands in its help', async () => {
    const { code, out } = await causeway('--help');
    expect(code).toBe(0);
    for (const command of [
      'roles list',
      'roles create',
      'roles delete',
      'roles assign',
      'roles unassign',
      'access explain',
      'users list',
      'users add',
    ]) {
      expect(out).toContain(command);
    }
  });

  it('adds users, creates a role, assigns it on a folder, explains, and takes it away again', async () => {
    const added = await causeway(
      'users',
      'add',
      '--tenant',
      'acme',
      '--email',
      'pat@partner.test',
      '--name',
      'Pat',
      '--partner',
      '--json',
    );
    expect(added.code).toBe(0);
    const pat = JSON.parse(added.out) as { id: string; kind: string };
    expect(pat.kind).toBe('partner');
    const human = await causeway('users', 'add', '--tenant', 'acme', '--email', 'mia@acme.test');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^member mia@acme\.test added: [0-9a-f-]{36}$/);
    const again = await causeway('users', 'add', '--tenant', 'acme', '--email', 'MIA@acme.test');
    expect(again.code).toBe(1);
    expect(again.err).toContain('[conflict]');

    const users = await causeway('users', 'list', '--tenant', 'acme');
    expect(users.code).toBe(0);
    expect(users.out).toContain('pat@partner.test');
    expect(users.out).toContain('partner');
    expect(users.out).toContain('active');

    const role = await causeway(
      'roles',
      'create',
      '--tenant',
      'acme',
      '--name',
      'uploader',
      '--template',
      'partner-editor',
      '--permissions',
      'workspaces.read,files.read,files.write',
    );
    expect(role.code).toBe(0);
    expect(role.out).toContain('role uploader created from partner-editor');
    const superset = await causeway(
      'roles',
      'create',
      '--tenant',
      'acme',
      '--name',
      'sneaky',
      '--template',
      'partner-viewer',
      '--permissions',
      'files.read,files.write',
    );
    expect(superset.code).toBe(1);
    expect(superset.err).toContain('[validation_failed]');
    expect(superset.err).toContain('files.write');

    const roles = await causeway('roles', 'list', '--tenant', 'acme', '--json');
    expect(roles.code).toBe(0);
    const names = (JSON.parse(roles.out) as { items: Array<{ name: string }> }).items.map(
      (r) => r.name,
    );
    expect(names).toEqual(expect.arrayContaining(['owner', 'partner-viewer', 'uploader']));
    const rolesHuman = await causeway('roles', 'list', '--tenant', 'acme');
    expect(rolesHuman.out).toContain('uploader  custom (partner-editor)');

    const assigned = await causeway(
      'roles',
      'assign',
      '--tenant',
      'acme',
      '--role',
      'uploader',
      '--user',
      pat.id,
      '--workspace',
      workspaceId,
      '--folder',
      '/contracts',
      '--json',
    );
    expect(assigned.code).toBe(0);
    const assignment = JSON.parse(assigned.out) as { id: string; scope: unknown };
    expect(assignment.scope).toEqual({ type: 'folder', workspaceId, folder: '/contracts' });
    const tenantWide = await causeway(
      'roles',
      'assign',
      '--tenant',
      'acme',
      '--role',
      'uploader',
      '--user',
      pat.id,
    );
    expect(tenantWide.code).toBe(1);
    expect(tenantWide.err).toContain('partner');

    const allowed = await causeway(
      'access',
      'explain',
      '--tenant',
      'acme',
      '--user',
      pat.id,
      '--permission',
      'files.write',
      '--workspace',
      workspaceId,
      '--folder',
      '/contracts/2026',
    );
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/^ALLOWED: .*role "uploader"/);
    const denied = await causeway(
      'access',
      'explain',
      '--tenant',
      'acme',
      '--user',
      pat.id,
      '--permission',
      'files.write',
      '--workspace',
      workspaceId,
      '--folder',
      '/other',
      '--json',
    );
    expect(denied.code).toBe(0);
    const why = JSON.parse(denied.out) as { allowed: boolean; candidates: string[] };
    expect(why.allowed).toBe(false);
    expect(why.candidates).toEqual(expect.arrayContaining(['partner-editor', 'uploader']));

    const unassigned = await causeway(
      'roles',
      'unassign',
      '--tenant',
      'acme',
      '--id',
      assignment.id,
    );
    expect(unassigned.code).toBe(0);
    expect(unassigned.out).toContain(`assignment ${assignment.id} removed`);
    const after = await causeway(
      'access',
      'explain',
      '--tenant',
      'acme',
      '--user',
      pat.id,
      '--permission',
      'files.write',
      '--workspace',
      workspaceId,
      '--folder',
      '/contracts',
    );
    expect(after.out).toMatch(/^DENIED: /);

    const deleted = await causeway('roles', 'delete', '--tenant', 'acme', '--name', 'uploader');
    expect(deleted.code).toBe(0);
    const builtIn = await causeway('roles', 'delete', '--tenant', 'acme', '--name', 'owner');
    expect(builtIn.code).toBe(1);
    expect(builtIn.err).toContain('[validation_failed]');
  });

  it('exits 64 on wrong usage, 1 when the API refuses', async () => {
    const both = await causeway(
      'roles',
      'assign',
      '--tenant',
      'acme',
      '--role',
      'member',
      '--user',
      randomUUID(),
      '--group',
      'eng',
    );
    expect(both.code).toBe(64);
    expect(both.err).toContain('exactly one of --user and --group');
    const folderOnly = await causeway(
      'roles',
      'assign',
      '--tenant',
      'acme',
      '--role',
      'member',
      '--group',
      'eng',
      '--folder',
      '/a',
    );
    expect(folderOnly.code).toBe(64);
    const noTenant = await causeway('users', 'list');
    expect(noTenant.code).toBe(64);
    const missing = await causeway('users', 'list', '--tenant', 'nowhere');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('[not_found]');
  });
});
