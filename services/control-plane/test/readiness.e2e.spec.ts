import { randomUUID } from 'node:crypto';
import { NodesRepository } from '../src/nodes/nodes.repository';
import { TenantsService } from '../src/tenants/tenants.service';
import { Stack } from './harness';

describe('readiness when the broker is unreachable', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    stack = await Stack.start({
      CAUSEWAY_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
      CAUSEWAY_CA_SEAL_KEY: '',
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('still starts and stays alive', async () => {
    await stack.anonymous().get('/healthz').expect(200);
  });

  it('answers /readyz with 503 not_ready naming the broker', async () => {
    const res = await stack.anonymous().get('/readyz').expect(503);
    expect(res.body.code).toBe('not_ready');
    expect(res.body.message).toContain('broker');
    expect(res.body.details.checks).toMatchObject({
      database: { status: 'up' },
      broker: { status: 'down' },
    });
  });

  it('answers 503 enrolment_unavailable for join tokens when no CA seal key is configured', async () => {
    await stack.createTenant('initech');
    const res = await stack.http().post('/api/v1/tenants/initech/join-tokens').send({}).expect(503);
    expect(res.body.code).toBe('enrolment_unavailable');
    expect(res.body.message).toContain('CAUSEWAY_CA_SEAL_KEY');
  });

  it('answers a request to a node with 503 instead of hanging', async () => {
    await stack.createTenant('acme');
    // Nothing can enrol without the broker (a node needs its queues and broker user), so the
    // node the control plane knows of is written into its table directly.
    const tenant = await stack.app.get(TenantsService).getBySlug('acme');
    const node = await stack.app.get(NodesRepository).insert({
      id: randomUUID(),
      tenantId: tenant.id,
      name: 'node-1',
      region: tenant.region,
    });
    const res = await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({}).expect(503);
    expect(res.body.code).toBe('node_unavailable');
  });
});
