import { BridgeTopology } from '@causeway/bridge';
import {
  ServiceProcess,
  TEST_AMQP_URL,
  createTestDatabase,
  deleteBrokerObjects,
  uniqueSuffix,
  type TestDatabase,
} from '@causeway/testing';

async function cli(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const proc = new ServiceProcess(script, env, args);
  const code = await proc.exited;
  return { code, out: proc.lines.join('\n'), err: proc.stderr.join('') };
}

describe('causeway-cp (operator CLI on the control plane)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const nodeIds: string[] = [];
  const run = (...args: string[]) => cli('services/control-plane/dist/cli/main.js', args, env);

  beforeAll(async () => {
    db = await createTestDatabase();
    env = {
      CAUSEWAY_DATABASE_URL: db.url,
      CAUSEWAY_AMQP_URL: TEST_AMQP_URL,
      CAUSEWAY_ADMIN_TOKEN: 'cli-test-token-cli-test-token-cli-test-token',
      CAUSEWAY_BRIDGE_NAMESPACE: `t${uniqueSuffix()}`,
      CAUSEWAY_INSTANCE_ID: 'cli-test',
    };
  });
  afterAll(async () => {
    await db?.drop();
    const t = new BridgeTopology(env.CAUSEWAY_BRIDGE_NAMESPACE ?? 'x');
    const { queues, exchanges } = t.names(nodeIds, ['cli-test']);
    await deleteBrokerObjects(queues, exchanges);
  });

  it('prints help and exits 0', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    expect(out).toContain('nodes register');
  });

  it('migrates, creates a tenant and registers a node, printing its id', async () => {
    expect((await run('migrate')).out).toContain('Initial');
    expect((await run('migrate')).out).toContain('up to date');
    const tenant = await run(
      'tenants',
      'create',
      '--slug',
      'acme',
      '--name',
      'Acme',
      '--region',
      'eu-west',
      '--json',
    );
    expect(tenant.code).toBe(0);
    expect(JSON.parse(tenant.out)).toMatchObject({ slug: 'acme', region: 'eu-west' });
    const node = await run('nodes', 'register', '--tenant', 'acme', '--name', 'node-1', '--json');
    expect(node.code).toBe(0);
    const registered = JSON.parse(node.out) as {
      nodeId: string;
      broker: { username: string; amqpUrl: string };
    };
    expect(registered.nodeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(registered.broker.username).toBe(`node-${registered.nodeId}`);
    expect(registered.broker.amqpUrl).toContain(`node-${registered.nodeId}:`);
    nodeIds.push(registered.nodeId);
    const rotated = await run('nodes', 'credentials', '--node', registered.nodeId);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toContain(`CAUSEWAY_NODE_ID=${registered.nodeId}`);
    const list = await run('nodes', 'list', '--tenant', 'acme', '--json');
    expect(JSON.parse(list.out).items).toEqual([
      expect.objectContaining({ id: registered.nodeId, status: 'offline' }),
    ]);
    const revoked = await run('nodes', 'revoke', '--node', registered.nodeId);
    expect(revoked.code).toBe(0);
  });

  it('refuses a duplicate, an unknown tenant and a missing flag with a clear message', async () => {
    const dup = await run('nodes', 'register', '--tenant', 'acme', '--name', 'node-1');
    expect(dup.code).toBe(1);
    expect(dup.err).toContain('already has a node named "node-1"');
    const unknown = await run('nodes', 'register', '--tenant', 'nope', '--name', 'n');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('No tenant "nope" exists');
    const missing = await run('tenants', 'create', '--slug', 'x1');
    expect(missing.code).toBe(64);
    expect(missing.err).toContain('--name is required');
  });
});

describe('causeway-node CLI', () => {
  it('prints its version and help', async () => {
    const version = await cli('services/node/dist/cli/main.js', ['version', '--json']);
    expect(JSON.parse(version.out)).toEqual({ version: '0.1.0' });
    const help = await cli('services/node/dist/cli/main.js', ['--help']);
    expect(help.out).toContain('causeway-node run');
  });

  it('refuses an unknown command', async () => {
    const res = await cli('services/node/dist/cli/main.js', ['fly']);
    expect(res.code).toBe(64);
    expect(res.err).toContain('unknown command "fly"');
  });
});
