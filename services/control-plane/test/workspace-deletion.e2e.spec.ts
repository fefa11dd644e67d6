import { Readable } from 'node:stream';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { eventually } from '@causeway/testing';
import { LocalDiskStore } from '../../node/src/storage/local-disk-store';
import type { WorkspaceView } from '../src/workspaces/workspaces.dto';
import { Stack } from './harness';

interface MasterKeyRow {
  state: string;
  sealed_key: string | null;
}

/**
 * Deleting a workspace, end to end with a real node: the control plane accepts it, the node
 * destroys the workspace's master keys (so a copy of its storage can no longer be decrypted),
 * then its objects; the workspace disappears with its role assignments.
 */
describe('workspace deletion (real control plane, node process, PostgreSQL, RabbitMQ)', () => {
  let stack: Stack;
  let nodeId: string;
  let tenantId: string;
  const cookies: Record<'owner' | 'member', string> = { owner: '', member: '' };

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    for (const role of ['owner', 'member'] as const) {
      const signed = await stack.signedIn('acme', `${role}@acme.test`, { role });
      cookies[role] = signed.cookie;
      tenantId = signed.tenantId;
    }
  });

  afterAll(async () => {
    await stack?.close();
  });

  function nodeDb(): Database.Database {
    return new Database(join(stack.stateDirOf(nodeId), 'node.db'), {
      readonly: true,
      fileMustExist: true,
    });
  }

  function masterKeysOf(workspaceId: string): MasterKeyRow[] {
    const db = nodeDb();
    try {
      return db
        .prepare('SELECT state, sealed_key FROM master_keys WHERE workspace_id = ?')
        .all(workspaceId) as MasterKeyRow[];
    } finally {
      db.close();
    }
  }

  const readyWorkspace = (name: string) =>
    stack.readyWorkspace('acme', name, nodeId, cookies.owner);

  it("makes the workspace's master key on the node, sealed", async () => {
    const id = await readyWorkspace('keys-at-creation');
    const keys = masterKeysOf(id);
    expect(keys).toHaveLength(1);
    expect(keys[0]?.state).toBe('active');
    expect(keys[0]?.sealed_key).toEqual(expect.any(String));
  });

  it('destroys the keys and the objects on the node, then the workspace and its assignments', async () => {
    const id = await readyWorkspace('doomed');
    const other = await readyWorkspace('kept');
    // Bytes the node holds for both workspaces (the file API writes them the same way).
    const objects = new LocalDiskStore(join(stack.stateDirOf(nodeId), 'objects'));
    const bytes = Buffer.from('ciphertext stand-in');
    for (const ws of [id, other]) await objects.put(`${ws}/obj-1`, Readable.from([bytes]), 19);
    const db = stack.app.get(DataSource);
    await db.query(
      `INSERT INTO role_assignments (id, tenant_id, role_name, principal, scope_type, workspace_id, created_at, created_by)
       VALUES (gen_random_uuid(), $1, 'partner-viewer', 'group:partners', 'workspace', $2, now(), 'test')`,
      [tenantId, id],
    );

    // A member may not delete it; the owner may.
    const refused = await stack
      .anonymous()
      .delete(`/api/v1/tenants/acme/workspaces/${id}`)
      .set('Cookie', cookies.member)
      .expect(403);
    expect(refused.body.code).toBe('forbidden');
    const accepted = await stack
      .anonymous()
      .delete(`/api/v1/tenants/acme/workspaces/${id}`)
      .set('Cookie', cookies.owner)
      .expect(202);
    expect(['deleting']).toContain((accepted.body as WorkspaceView).state);

    await eventually(
      async () => (await stack.http().get(`/api/v1/tenants/acme/workspaces/${id}`)).status === 404,
      { timeoutMs: 30_000, what: 'workspace gone' },
    );
    // On the node: the key's sealed bytes are gone, its objects too; the other workspace is intact.
    expect(masterKeysOf(id)).toEqual([{ state: 'destroyed', sealed_key: null }]);
    await expect(objects.stat(`${id}/obj-1`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await objects.stat(`${other}/obj-1`)).size).toBe(19);
    expect(masterKeysOf(other)[0]?.state).toBe('active');
    const audit = nodeDb();
    try {
      const codes = (audit.prepare('SELECT body FROM audit_log').all() as Array<{ body: string }>)
        .map((r) => JSON.parse(r.body) as { code: string; fields: { workspaceId?: string } })
        .filter((e) => e.fields.workspaceId === id)
        .map((e) => e.code);
      expect(codes).toEqual(expect.arrayContaining(['key.workspace_destroyed']));
    } finally {
      audit.close();
    }
    // On the control plane: its assignments went with it, and the trail says who did it.
    const left = await db.query('SELECT 1 FROM role_assignments WHERE workspace_id = $1', [id]);
    expect(left).toEqual([]);
    const events = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events?limit=1000')
      .expect(200);
    const mine = (events.body.items as Array<{ type: string; details: { workspaceId?: string } }>)
      .filter((e) => e.details.workspaceId === id)
      .map((e) => e.type);
    expect(mine).toEqual(
      expect.arrayContaining([
        'admin.workspace.created',
        'admin.workspace.delete_requested',
        'admin.workspace.deleted',
      ]),
    );
  });

  it('answers a second request while deleting without sending another command', async () => {
    const id = await readyWorkspace('twice');
    const db = stack.app.get(DataSource);
    const before = await db.query<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM outbox WHERE method = 'workspace.delete'`,
    );
    await stack.http().delete(`/api/v1/tenants/acme/workspaces/${id}`).expect(202);
    await stack
      .http()
      .delete(`/api/v1/tenants/acme/workspaces/${id}`)
      .expect((res) => expect([202, 404]).toContain(res.status));
    const after = await db.query<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM outbox WHERE method = 'workspace.delete'`,
    );
    expect(Number(after[0]?.n) - Number(before[0]?.n)).toBe(1);
    await eventually(
      async () => (await stack.http().get(`/api/v1/tenants/acme/workspaces/${id}`)).status === 404,
      { timeoutMs: 30_000, what: 'workspace gone' },
    );
  });
});
