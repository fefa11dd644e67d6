import { RabbitMqInstance, eventually, type ServiceProcess } from '@causeway/testing';
import type { NodeView } from '../src/nodes/nodes.dto';
import type { WorkspaceView } from '../src/workspaces/workspaces.dto';
import { Stack } from './harness';

/**
 * Broker outages, on a RabbitMQ instance of this test's own (own node name, ports and data
 * directory), so that stopping it disturbs no other test.
 */
describe('broker outages lose nothing', () => {
  let broker: RabbitMqInstance;
  let stack: Stack;
  let node: NodeView;
  let proc: ServiceProcess;

  const online = async (): Promise<void> => {
    await eventually(
      async () =>
        ((await stack.http().get(`/api/v1/nodes/${node.id}`)).body as NodeView).status === 'online',
      { timeoutMs: 30_000, what: 'node online' },
    );
  };

  beforeAll(async () => {
    broker = await RabbitMqInstance.start({ managementPlugin: true });
    stack = await Stack.onPrivateBroker(broker);
    await stack.createTenant('acme');
    node = await stack.registerNode('acme', 'outage-node');
    proc = stack.startNode(node.id);
    await online();
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await broker?.destroy();
  }, 60_000);

  it('accepts a command while the broker is down and delivers it once the broker is back', async () => {
    await broker.stop();
    await eventually(async () => (await stack.anonymous().get('/readyz')).status === 503, {
      timeoutMs: 15_000,
      what: 'readiness to report the broker down',
    });

    // Requests that need the bridge fail fast and clearly instead of hanging.
    const ping = await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({});
    expect(ping.status).toBe(503);
    expect(['node_unavailable', 'bridge_unavailable']).toContain(ping.body.code);

    // A state-changing command is accepted: it waits in the outbox.
    const created = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'Written during the outage', node: node.id })
      .expect(202);
    expect(created.body.state).toBe('provisioning');

    await broker.startAgain();
    const ready = await eventually(
      async () => {
        const ws = (await stack.http().get(`/api/v1/tenants/acme/workspaces/${created.body.id}`))
          .body as WorkspaceView;
        return ws.state === 'ready' ? ws : undefined;
      },
      { timeoutMs: 60_000, what: 'the workspace provisioned after the outage' },
    );
    expect(ready.error).toBeNull();

    // Both sides reconnected by themselves; the node process never died.
    await online();
    const after = await stack
      .http()
      .post(`/api/v1/nodes/${node.id}/ping`)
      .send({ echo: 'back' })
      .expect(200);
    expect(after.body.echo).toBe('back');
    const info = await stack.http().get(`/api/v1/nodes/${node.id}/info`).expect(200);
    expect(info.body.workspaces).toBe(1);
    expect(proc.logs().filter((l) => l.msg === 'workspace provisioned')).toHaveLength(1);
  }, 180_000);

  it('survives the broker being killed outright', async () => {
    await broker.kill();
    await broker.startAgain();
    await online();
    const res = await stack
      .http()
      .post(`/api/v1/nodes/${node.id}/ping`)
      .send({ echo: 'again' })
      .expect(200);
    expect(res.body.echo).toBe('again');
  }, 180_000);
});
