import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ServiceProcess, eventually } from '@causeway/testing';
import type { NodeView } from '../src/nodes/nodes.dto';
import type { WorkspaceView } from '../src/workspaces/workspaces.dto';
import { Stack } from './harness';

async function waitOnline(stack: Stack, id: string): Promise<void> {
  await eventually(
    async () =>
      ((await stack.http().get(`/api/v1/nodes/${id}`)).body as NodeView).status === 'online',
    { timeoutMs: 15_000, what: `node ${id} online` },
  );
}

async function waitWorkspace(
  stack: Stack,
  tenant: string,
  id: string,
  state: WorkspaceView['state'],
): Promise<WorkspaceView> {
  return eventually(
    async () => {
      const ws = (await stack.http().get(`/api/v1/tenants/${tenant}/workspaces/${id}`).expect(200))
        .body as WorkspaceView;
      return ws.state === state ? ws : undefined;
    },
    { timeoutMs: 30_000, what: `workspace ${id} ${state}` },
  );
}

async function workspacesOnNode(stack: Stack, nodeId: string): Promise<number> {
  const info = await stack.http().get(`/api/v1/nodes/${nodeId}/info`).expect(200);
  return (info.body as { workspaces: number }).workspaces;
}

describe('state-changing commands: outbox → bridge → node, applied exactly once', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("provisions a workspace on the tenant's node and reports it ready", async () => {
    const node = await stack.registerNode('acme', 'ws-node');
    stack.startNode(node.id);
    await waitOnline(stack, node.id);

    const created = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'Project Alpha', node: node.id })
      .expect(202);
    expect(created.body).toMatchObject({
      name: 'Project Alpha',
      state: 'provisioning',
      nodeId: node.id,
    });
    const ready = await waitWorkspace(stack, 'acme', created.body.id as string, 'ready');
    expect(ready.error).toBeNull();
    expect(await workspacesOnNode(stack, node.id)).toBe(1);

    // Tenant isolation: globex can neither see the workspace nor place one on acme's node.
    await stack.http().get(`/api/v1/tenants/globex/workspaces/${ready.id}`).expect(404);
    expect(
      (await stack.http().get('/api/v1/tenants/globex/workspaces').expect(200)).body.items,
    ).toEqual([]);
    const foreign = await stack
      .http()
      .post('/api/v1/tenants/globex/workspaces')
      .send({ name: 'Sneaky', node: node.id })
      .expect(404);
    expect(foreign.body.code).toBe('not_found');
    const invalid = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: '' })
      .expect(400);
    expect(invalid.body.code).toBe('validation_failed');
  });

  it('completes once when the node is killed after applying a command and before acknowledging it', async () => {
    const node = await stack.registerNode('acme', 'crash-node');
    const doomed = stack.startNode(node.id, {
      CAUSEWAY_FAULTS: 'crash-after-record:workspace.provision',
    });
    await waitOnline(stack, node.id);

    const created = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'Crash Course', node: node.id })
      .expect(202);
    // The node applies the command, records it, and dies before replying or acknowledging.
    await doomed.exited;
    // Read from its database, not its log: a process killed this way may lose the log lines it
    // had not yet written to the pipe.
    const db = new Database(join(stack.stateDirOf(node.id), 'node.db'), { readonly: true });
    try {
      expect(
        db.prepare('SELECT id FROM workspaces WHERE id = ?').get(created.body.id as string),
      ).toEqual({ id: created.body.id });
    } finally {
      db.close();
    }

    // From the same state directory: its completion records survived the crash.
    const restarted = stack.startNode(node.id);
    const ready = await waitWorkspace(stack, 'acme', created.body.id as string, 'ready');
    expect(ready.state).toBe('ready');
    // The redelivered command was answered from the completion record, not applied again.
    expect(
      restarted.logs().some((l) => l.msg === 'bridge request answered from the completion record'),
    ).toBe(true);
    expect(restarted.logs().some((l) => l.msg === 'workspace provisioned')).toBe(false);
    await waitOnline(stack, node.id);
    expect(await workspacesOnNode(stack, node.id)).toBe(1);
  });

  it('dead-letters a command that keeps failing, keeps serving, and applies it once replayed after the fix', async () => {
    const node = await stack.registerNode('acme', 'poison-node');
    const stateDir = stack.stateDirOf(node.id);
    const poisoned = stack.startNode(node.id);
    await waitOnline(stack, node.id);

    // A file where the node wants the workspace directory: every attempt fails the same way.
    const blockedDir = join(stateDir, 'workspaces');
    writeFileSync(blockedDir, 'not a directory');

    const created = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'Poisoned', node: node.id })
      .expect(202);

    type Dead = { id: string; reason: string; attempts: number | null; sourceQueue: string };
    const dead = await eventually(
      async () => {
        const res = await stack
          .http()
          .get(`/api/v1/admin/dead-letters?node=${node.id}`)
          .expect(200);
        return (res.body.items as Dead[]).find((d) => d.reason === 'delivery_limit');
      },
      { timeoutMs: 30_000, what: 'the poison command dead-lettered' },
    );
    expect(dead.sourceQueue).toBe(stack.topology.nodeRpcQueue(node.id));
    expect(dead.attempts).toBe(stack.topology.deliveryLimit + 1);
    // Every delivery was really tried by the node before the broker gave up.
    const failures = poisoned
      .logs()
      .filter((l) => l.msg === 'bridge handler failed' && l.retry === true);
    expect(failures.length).toBe(stack.topology.deliveryLimit + 1);

    // The node kept serving meanwhile.
    const ping = await stack
      .http()
      .post(`/api/v1/nodes/${node.id}/ping`)
      .send({ echo: 'alive' })
      .expect(200);
    expect(ping.body.echo).toBe('alive');
    expect(
      (await stack.http().get(`/api/v1/tenants/acme/workspaces/${created.body.id}`)).body.state,
    ).toBe('provisioning');

    // The operator fixes the disk and replays: the workspace is provisioned, once.
    rmSync(blockedDir);
    // Through the admin CLI, as an operator would.
    const url = await stack.app.getUrl();
    const cli = async (...args: string[]) => {
      const proc = new ServiceProcess(
        'services/control-plane/dist/admin-cli/main.js',
        { CAUSEWAY_TOKEN: stack.config.adminToken },
        ['--url', url, ...args],
      );
      return { code: await proc.exited, out: proc.lines.join('\n'), err: proc.stderr.join('') };
    };
    const listed = await cli('dead-letters', 'list', '--node', node.id);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(dead.id);
    expect(listed.out).toContain('delivery_limit');
    const shown = await cli('dead-letters', 'show', dead.id, '--json');
    expect(JSON.parse(shown.out)).toMatchObject({ id: dead.id, reason: 'delivery_limit' });
    const replayed = await cli('dead-letters', 'replay', dead.id);
    expect(replayed.code).toBe(0);
    expect(replayed.out).toContain('1 time(s)');
    const missing = await cli('dead-letters', 'show', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('[not_found]');
    await waitWorkspace(stack, 'acme', created.body.id as string, 'ready');
    expect(await workspacesOnNode(stack, node.id)).toBe(1);
  });
});

describe('a command its node never picks up', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ CAUSEWAY_COMMAND_TTL_MS: '1500' });
    await stack.createTenant('acme');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('fails with node_unavailable once its deadline passed, instead of waiting forever', async () => {
    // Enrolled, never started: the command sits in its queue until the deadline.
    const node = await stack.registerNode('acme', 'never-started');
    const created = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'Never', node: node.id })
      .expect(202);
    const failed = await waitWorkspace(stack, 'acme', created.body.id as string, 'failed');
    expect(failed.error).toMatchObject({ code: 'node_unavailable' });
    expect(failed.error?.message).toContain('deadline');
  });
});
