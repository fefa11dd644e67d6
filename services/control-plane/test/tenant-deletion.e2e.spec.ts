import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { eventually } from '@causeway/testing';
import { filesUnder } from './files-under';
import { Stack } from './harness';
import { tusUpload } from './tus-client';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Deleting a tenant, end to end with a real node: sessions end at once, nothing new can be
 * added, every workspace's keys are destroyed on the node (its files can no longer be read),
 * then the tenant's nodes are revoked. Another tenant is untouched.
 */
describe('tenant deletion (real control plane, node process, PostgreSQL, RabbitMQ)', () => {
  let stack: Stack;
  let nodeId: string;
  let workspaces: string[];
  let owner: { userId: string; tenantId: string; cookie: string };
  let partner: { cookie: string };
  let other: { cookie: string };
  let otherWs: string;
  const data = randomBytes(1024 * 1024 + 77);

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    const globexNode = (await stack.registerNode('globex', 'globex-node')).id;
    stack.startNode(nodeId);
    stack.startNode(globexNode);
    await stack.waitOnline(nodeId);
    await stack.waitOnline(globexNode);
    workspaces = [
      await stack.readyWorkspace('acme', 'deals', nodeId),
      await stack.readyWorkspace('acme', 'hr', nodeId),
    ];
    otherWs = await stack.readyWorkspace('globex', 'kept', globexNode);
    owner = await stack.signedIn('acme', 'owner@acme.test', { role: 'owner' });
    partner = await stack.signedIn('acme', 'pat@partner.test', {
      role: 'partner-editor',
      kind: 'partner',
      workspaceId: workspaces[0],
    });
    other = await stack.signedIn('globex', 'owner@globex.test', { role: 'owner' });
    for (const [cookie, ws] of [
      [partner.cookie, workspaces[0]],
      [other.cookie, otherWs],
    ] as const) {
      const uploaded = await tusUpload(stack.url, ws, data, { cookie, filename: 'deal.bin' });
      expect(uploaded.fileId).toEqual(expect.any(String));
    }
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  function masterKeys(workspaceId: string): Array<{ state: string; sealed_key: string | null }> {
    const db = new Database(join(stack.stateDirOf(nodeId), 'node.db'), {
      readonly: true,
      fileMustExist: true,
    });
    try {
      return db
        .prepare('SELECT state, sealed_key FROM master_keys WHERE workspace_id = ?')
        .all(workspaceId) as Array<{ state: string; sealed_key: string | null }>;
    } finally {
      db.close();
    }
  }

  it('is for the platform operator only, and must be confirmed with the identifier', async () => {
    const refused = await stack
      .anonymous()
      .delete('/api/v1/tenants/acme')
      .set('Cookie', owner.cookie)
      .send({ confirm: 'acme' })
      .expect(403);
    expect(refused.body.code).toBe('forbidden');
    const unconfirmed = await stack
      .http()
      .delete('/api/v1/tenants/acme')
      .send({ confirm: 'globex' })
      .expect(400);
    expect(unconfirmed.body).toMatchObject({ code: 'validation_failed' });
    expect(unconfirmed.body.message).toContain('{"confirm": "acme"}');
    expect((await stack.http().get('/api/v1/tenants/acme').expect(200)).body.state).toBe('active');
  });

  it('ends sessions at once, refuses new ones and anything new, then destroys every key and revokes the nodes', async () => {
    const accepted = await stack
      .http()
      .delete('/api/v1/tenants/acme')
      .send({ confirm: 'acme' })
      .expect(202);
    expect(accepted.body).toEqual({ state: 'deleting', workspacesDeleting: 2 });

    // The very next request of an open session is refused; no new session can open.
    await stack.anonymous().get('/api/v1/me').set('Cookie', partner.cookie).expect(401);
    await stack.anonymous().get('/api/v1/me').set('Cookie', owner.cookie).expect(401);
    await expect(stack.signedIn('acme', 'owner@acme.test')).rejects.toMatchObject({
      code: 'not_found',
    });
    // Nothing new: no workspace, no join token.
    const noWorkspace = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'late', node: nodeId })
      .expect(409);
    expect(noWorkspace.body.message).toContain('deleting');
    await stack.http().post('/api/v1/tenants/acme/join-tokens').send({}).expect(409);

    await eventually(
      async () =>
        (await stack.http().get('/api/v1/tenants/acme').expect(200)).body.state === 'deleted',
      { timeoutMs: 60_000, what: 'tenant deleted' },
    );
    for (const ws of workspaces) {
      expect(masterKeys(ws)).toEqual([{ state: 'destroyed', sealed_key: null }]);
      expect(filesUnder(join(stack.stateDirOf(nodeId), 'objects', ws))).toEqual([]);
    }
    const nodes = await stack.http().get('/api/v1/tenants/acme/nodes').expect(200);
    expect(nodes.body.items).toEqual([expect.objectContaining({ id: nodeId, status: 'revoked' })]);

    const events = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events?limit=1000')
      .expect(200);
    const types = (events.body.items as Array<{ type: string }>).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['admin.tenant.delete_requested', 'admin.tenant.deleted']),
    );
    expect(types.filter((t) => t === 'admin.workspace.deleted')).toHaveLength(2);
  });

  it('leaves another tenant untouched', async () => {
    const listed = await fetch(`${stack.url}/api/v1/workspaces/${otherWs}/files`, {
      headers: { cookie: other.cookie },
    });
    expect(listed.status).toBe(200);
    const [file] = ((await listed.json()) as { items: Array<{ fileId: string }> }).items;
    const res = await fetch(
      `${stack.url}/api/v1/workspaces/${otherWs}/files/${file.fileId}/content`,
      {
        headers: { cookie: other.cookie },
      },
    );
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    expect((await stack.http().get('/api/v1/tenants/globex').expect(200)).body.state).toBe(
      'active',
    );
    // The deleted tenant's identifier is not free for another.
    await stack
      .http()
      .post('/api/v1/tenants')
      .send({ slug: 'acme', name: 'Acme again', region: 'eu-west' })
      .expect(409);
  });
});
