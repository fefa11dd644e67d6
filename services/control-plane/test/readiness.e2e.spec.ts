import { Stack } from './harness';

describe('readiness when the broker is unreachable', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    stack = await Stack.start({ CAUSEWAY_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' });
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
    const node = await stack.registerNode('acme', 'node-1');
    const res = await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({}).expect(503);
    expect(res.body.code).toBe('node_unavailable');
  });
});
