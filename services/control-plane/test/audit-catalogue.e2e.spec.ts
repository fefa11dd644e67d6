import { randomBytes } from 'node:crypto';
import { NodeAudit, type NodeAuditRecord } from '../../node/src/audit/node-audit';
import { NodeStore } from '../../node/src/state/node-store';
import { eventually } from '@causeway/testing';
import { Stack } from './harness';
import { tusUpload } from './tus-client';

type AuditItem = {
  type: string;
  outcome: string;
  actor: string | null;
  details: Record<string, unknown>;
};

/**
 * Spot checks of the event catalogue (libs/audit): representative actions record their event,
 * with who acted and what it concerned, on the control plane or in the node's own chain.
 */
describe('audit events where the action happens (real control plane, node, PostgreSQL, RabbitMQ)', () => {
  let stack: Stack;
  let nodeId: string;
  let ws: string;
  let admin: { userId: string; cookie: string };
  let viewer: { userId: string; cookie: string };

  const acme = '/api/v1/tenants/acme';

  async function events(type: string): Promise<AuditItem[]> {
    const res = await stack.http().get(`${acme}/audit-events?type=${type}`).expect(200);
    return res.body.items as AuditItem[];
  }

  /** The node's own chain, read from its database (the node keeps running). */
  function nodeChain(): NodeAuditRecord[] {
    const store = NodeStore.open(stack.stateDirOf(nodeId));
    try {
      return new NodeAudit(store).list();
    } finally {
      store.close();
    }
  }

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    ws = await stack.readyWorkspace('acme', 'shared', nodeId);
    admin = await stack.signedIn('acme', 'admin@acme.test', { role: 'admin' });
    viewer = await stack.signedIn('acme', 'viewer@partner.test', {
      role: 'partner-viewer',
      kind: 'partner',
      workspaceId: ws,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('records the enrolment of a node on the control plane and as the first entry of its chain', async () => {
    const [enrolled] = await events('admin.node.enrolled');
    expect(enrolled).toMatchObject({
      outcome: 'success',
      actor: `node:${nodeId}`,
      details: { nodeId, name: 'acme-node', region: 'eu-west' },
    });
    expect(nodeChain()[0]).toMatchObject({ code: 'node.enrolled', fields: { nodeId } });
  });

  it('records a role assignment with the assigning user and the scope', async () => {
    const res = await stack
      .anonymous()
      .post(`${acme}/role-assignments`)
      .set('Cookie', admin.cookie)
      .send({
        role: 'partner-editor',
        user: viewer.userId,
        scope: { type: 'workspace', workspaceId: ws },
      })
      .expect(201);
    const assigned = (await events('access.role.assigned')).find(
      (e) => e.details['assignmentId'] === res.body.id,
    );
    expect(assigned).toMatchObject({
      outcome: 'success',
      actor: `user:${admin.userId}`,
      details: {
        role: 'partner-editor',
        principal: `user:${viewer.userId}`,
        scope: 'workspace',
        workspaceId: ws,
      },
    });
  });

  it('records an invitation with its role and workspace', async () => {
    await stack
      .anonymous()
      .post(`${acme}/workspaces/${ws}/invitations`)
      .set('Cookie', admin.cookie)
      .send({ email: 'partner@example.test', role: 'partner-viewer' })
      .expect(201);
    const [created] = await events('access.invitation.created');
    expect(created).toMatchObject({
      actor: `user:${admin.userId}`,
      details: { role: 'partner-viewer', workspaceId: ws },
    });
  });

  it('records a join token by its id only, never the token', async () => {
    const res = await stack.http().post(`${acme}/join-tokens`).send({}).expect(201);
    const [created] = await events('admin.join_token.created');
    expect(created).toMatchObject({
      actor: 'operator:platform',
      details: { tenant: 'acme', id: res.body.id },
    });
    expect(JSON.stringify(created)).not.toContain(res.body.token as string);
  });

  it('records a read of the workspace list, with how many were answered', async () => {
    await stack.anonymous().get(`${acme}/workspaces`).set('Cookie', admin.cookie).expect(200);
    const [listed] = await events('admin.workspace.listed');
    expect(listed).toMatchObject({
      outcome: 'success',
      actor: `user:${admin.userId}`,
      details: { tenant: 'acme', count: 1 },
    });
  });

  it("records a refused request once, with the route's pattern and the missing permission", async () => {
    await stack
      .anonymous()
      .get(`${acme}/role-assignments`)
      .set('Cookie', viewer.cookie)
      .expect(403);
    const [denied] = await events('access.denied');
    expect(denied).toMatchObject({
      outcome: 'failure',
      actor: `user:${viewer.userId}`,
      details: { path: '/api/v1/tenants/:tenant/role-assignments', permission: 'roles.read' },
    });
  });

  it("records an upload and a download in the node's chain, with who asked", async () => {
    const data = randomBytes(70_000);
    const uploaded = await tusUpload(stack.url, ws, data, {
      cookie: admin.cookie,
      filename: 'audit.bin',
    });
    const fileId = uploaded.fileId ?? '';
    expect(fileId).not.toBe('');
    const res = await fetch(`${stack.url}/api/v1/workspaces/${ws}/files/${fileId}/content`, {
      headers: { cookie: viewer.cookie },
    });
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);

    await eventually(
      async () => nodeChain().some((e) => e.code === 'data.file.download_completed'),
      { timeoutMs: 10_000, what: 'the download recorded as completed on the node' },
    );
    const chain = nodeChain();
    expect(chain.find((e) => e.code === 'data.upload.started')?.fields).toMatchObject({
      subject: `user:${admin.userId}`,
      workspaceId: ws,
      name: 'audit.bin',
      size: data.length,
    });
    expect(chain.find((e) => e.code === 'data.file.uploaded')?.fields).toMatchObject({
      subject: `user:${admin.userId}`,
      fileId,
    });
    expect(chain.find((e) => e.code === 'data.file.downloaded')?.fields).toMatchObject({
      subject: `user:${viewer.userId}`,
      workspaceId: ws,
      fileId,
      bytes: data.length,
    });
    // The control plane records the same download in its own trail.
    const [downloaded] = await events('data.file.downloaded');
    expect(downloaded).toMatchObject({ actor: `user:${viewer.userId}`, details: { fileId } });
  });
});
