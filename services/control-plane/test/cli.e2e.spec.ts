import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { BridgeTopology } from '@causeway/bridge';
import {
  ServiceProcess,
  TEST_AMQP_URL,
  createTestDatabase,
  deleteBrokerObjects,
  enrolNodeProcess,
  uniqueSuffix,
  type TestDatabase,
} from '@causeway/testing';
import { createControlPlane } from '../src/app';
import { loadConfig } from '../src/config/config';
import { createRootLogger } from '../src/logging';
import { NodesService } from '../src/nodes/nodes.service';

async function cli(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const proc = new ServiceProcess(script, env, args);
  const code = await proc.exited;
  return { code, out: proc.lines.join('\n'), err: proc.stderr.join('') };
}

interface CreatedToken {
  id: string;
  token: string;
  tenantId: string;
  state: string;
  createdAt: string;
  expiresAt: string;
}

describe('causeway-cp (operator CLI on the control plane)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let app: NestExpressApplication | undefined;
  const nodeIds: string[] = [];
  const stateDirs: string[] = [];
  const run = (...args: string[]) => cli('services/control-plane/dist/cli/main.js', args, env);

  beforeAll(async () => {
    db = await createTestDatabase();
    env = {
      CAUSEWAY_DATABASE_URL: db.url,
      CAUSEWAY_AMQP_URL: TEST_AMQP_URL,
      CAUSEWAY_ADMIN_TOKEN: 'cli-test-token-cli-test-token-cli-test-token',
      CAUSEWAY_BRIDGE_NAMESPACE: `t${uniqueSuffix()}`,
      CAUSEWAY_INSTANCE_ID: 'cli-test',
      CAUSEWAY_CA_SEAL_KEY: `cli-test-seal-key-${uniqueSuffix()}`,
    };
  });
  afterAll(async () => {
    if (app) {
      const nodes = app.get(NodesService);
      for (const id of nodeIds) await nodes.revoke(id).catch(() => undefined);
      await app.close();
    }
    await db?.drop();
    const t = new BridgeTopology(env.CAUSEWAY_BRIDGE_NAMESPACE ?? 'x');
    const { queues, exchanges } = t.names(nodeIds, ['cli-test']);
    await deleteBrokerObjects(queues, exchanges);
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('prints help naming the enrolment and key commands, and exits 0', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    expect(out).toContain('join-tokens create');
    expect(out).toContain('signing-keys rotate');
    expect(out).not.toContain('nodes register');
  });

  it('migrates, creates a tenant and issues one-time join tokens for it', async () => {
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
    const acme = JSON.parse(tenant.out) as { id: string; slug: string; region: string };
    expect(acme).toMatchObject({ slug: 'acme', region: 'eu-west' });

    const created = await run('join-tokens', 'create', '--tenant', 'acme', '--json');
    expect(created.code).toBe(0);
    const first = JSON.parse(created.out) as CreatedToken;
    expect(first.token).toMatch(/^cwj_[A-Za-z0-9_-]{20,}$/);
    expect(first).toMatchObject({ tenantId: acme.id, state: 'active' });
    // One hour unless told otherwise.
    expect(Date.parse(first.expiresAt) - Date.parse(first.createdAt)).toBe(3600_000);

    const short = await run('join-tokens', 'create', '--tenant', 'acme', '--ttl', '120', '--json');
    expect(short.code).toBe(0);
    const second = JSON.parse(short.out) as CreatedToken;
    expect(Date.parse(second.expiresAt) - Date.parse(second.createdAt)).toBe(120_000);
    expect(second.token).not.toBe(first.token);
    expect(second.id).not.toBe(first.id);

    // Without --json: the token on the first line, then how to use it.
    const human = await run('join-tokens', 'create', '--tenant', 'acme');
    expect(human.code).toBe(0);
    const [line, ...rest] = human.out.split('\n');
    expect(line).toMatch(/^cwj_[A-Za-z0-9_-]{20,}$/);
    expect(rest.join('\n')).toContain('causeway-node enroll');
  });

  it('adds a user with a first password from a file, and sets the sign-in policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'causeway-cli-'));
    stateDirs.push(dir);
    const file = join(dir, 'password');
    writeFileSync(file, 'correct horse battery staple\n', { mode: 0o600 });
    const created = await run(
      'users',
      'create',
      '--tenant',
      'acme',
      '--email',
      'ada@acme.test',
      '--name',
      'Ada',
      '--password-file',
      file,
      '--json',
    );
    expect(created.code).toBe(0);
    const user = JSON.parse(created.out) as { id: string; email: string; passwordSet: boolean };
    expect(user).toMatchObject({ email: 'ada@acme.test', passwordSet: true });
    expect(created.out).not.toContain('correct horse');
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const rows = await client
      .query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [user.id])
      .finally(() => client.end());
    expect(rows.rows[0]?.password_hash).toMatch(/^\$argon2id\$/);

    const policy = await run(
      'sign-in-policy',
      'set',
      '--tenant',
      'acme',
      '--passwords',
      'on',
      '--second-factor',
      'required',
      '--json',
    );
    expect(policy.code).toBe(0);
    expect(JSON.parse(policy.out)).toEqual({
      passwordsAllowed: true,
      emailCodesAllowed: true,
      requireSecondFactor: true,
    });
    const bad = await run('sign-in-policy', 'set', '--tenant', 'acme', '--passwords', 'maybe');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('--passwords takes on or off');
    writeFileSync(file, 'short', { mode: 0o600 });
    const weak = await run(
      'users',
      'create',
      '--tenant',
      'acme',
      '--email',
      'bob@acme.test',
      '--password-file',
      file,
    );
    expect(weak.code).not.toBe(0);
    expect(weak.err).toContain('at least 12 characters');
  });

  it('refuses an unknown tenant, a bad TTL, a missing flag and the removed "nodes register" clearly', async () => {
    const unknown = await run('join-tokens', 'create', '--tenant', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('No tenant "nope" exists');
    expect(unknown.out).toBe('');
    const badTtl = await run('join-tokens', 'create', '--tenant', 'acme', '--ttl', '5');
    expect(badTtl.code).toBe(1);
    expect(badTtl.err).toContain('not valid');
    expect(badTtl.out).toBe('');
    const noTenant = await run('join-tokens', 'create');
    expect(noTenant.code).toBe(64);
    expect(noTenant.err).toContain('--tenant is required');
    const missing = await run('tenants', 'create', '--slug', 'x1');
    expect(missing.code).toBe(64);
    expect(missing.err).toContain('--name is required');
    const removed = await run('nodes', 'register', '--tenant', 'acme', '--name', 'n');
    expect(removed.code).toBe(64);
    expect(removed.err).toContain('unknown command "nodes register"');
    const unknownNode = await run(
      'nodes',
      'revoke',
      '--node',
      '00000000-0000-4000-8000-000000000000',
    );
    expect(unknownNode.code).toBe(1);
    expect(unknownNode.err).toContain('No node with this id exists');
  });

  it('refuses to issue join tokens when no CA seal key is configured', async () => {
    const res = await cli(
      'services/control-plane/dist/cli/main.js',
      ['join-tokens', 'create', '--tenant', 'acme'],
      { ...env, CAUSEWAY_CA_SEAL_KEY: '' },
    );
    expect(res.code).toBe(1);
    expect(res.err).toContain('CAUSEWAY_CA_SEAL_KEY');
    expect(res.out).toBe('');
  });

  it('lists, re-credentials and revokes a node enrolled with a token it issued', async () => {
    // The node enrols over HTTP: a control plane on the same database serves it.
    const logger = createRootLogger('warn', { write: () => undefined });
    app = await createControlPlane({ config: loadConfig(env), logger });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;

    const created = await run('join-tokens', 'create', '--tenant', 'acme', '--json');
    const { token } = JSON.parse(created.out) as CreatedToken;
    const enrolled = await enrolNodeProcess({
      controlPlaneUrl: `http://127.0.0.1:${port}`,
      token,
      name: 'node-1',
    });
    nodeIds.push(enrolled.nodeId);
    stateDirs.push(enrolled.stateDir);
    const { nodeId } = enrolled;

    const list = await run('nodes', 'list', '--tenant', 'acme', '--json');
    expect(JSON.parse(list.out).items).toEqual([
      expect.objectContaining({ id: nodeId, name: 'node-1', status: 'offline' }),
    ]);
    const rotated = await run('nodes', 'credentials', '--node', nodeId);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toContain(`CAUSEWAY_NODE_ID=${nodeId}`);
    expect(rotated.out).toContain(`node-${nodeId}:`);

    const revoked = await run('nodes', 'revoke', '--node', nodeId);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain(`node ${nodeId} revoked`);
    const after = await run('nodes', 'list', '--tenant', 'acme', '--json');
    expect(JSON.parse(after.out).items).toEqual([
      expect.objectContaining({ id: nodeId, status: 'revoked' }),
    ]);
    const again = await run('nodes', 'credentials', '--node', nodeId);
    expect(again.code).toBe(1);
    expect(again.err).toContain('revoked node gets no new credentials');
  });
});

describe('causeway-node CLI', () => {
  it('prints its version and help', async () => {
    const version = await cli('services/node/dist/cli/main.js', ['version', '--json']);
    expect(JSON.parse(version.out)).toEqual({ version: '0.1.0' });
    const help = await cli('services/node/dist/cli/main.js', ['--help']);
    expect(help.out).toContain('causeway-node run');
    expect(help.out).toContain('causeway-node enroll');
  });

  it('refuses an unknown command', async () => {
    const res = await cli('services/node/dist/cli/main.js', ['fly']);
    expect(res.code).toBe(64);
    expect(res.err).toContain('unknown command "fly"');
  });
});
