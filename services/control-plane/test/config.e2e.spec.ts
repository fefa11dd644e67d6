import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from '@causeway/testing';

const VALID_CP = {
  CAUSEWAY_DATABASE_URL: 'postgres://u:secret-db-password@127.0.0.1:5432/x',
  CAUSEWAY_AMQP_URL: 'amqp://u:secret-amqp-password@127.0.0.1:5672',
  CAUSEWAY_ADMIN_TOKEN: 'a-very-secret-admin-token-of-sufficient-length',
};

async function runToExit(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const proc = new ServiceProcess(script, env);
  const code = await proc.exited;
  return { code, stderr: proc.stderr.join('') };
}

describe('configuration is validated at start with one line naming the variable', () => {
  it.each([
    [{ ...VALID_CP, CAUSEWAY_DATABASE_URL: '' }, 'CAUSEWAY_DATABASE_URL is not set'],
    [{ ...VALID_CP, CAUSEWAY_DATABASE_URL: 'mysql://x@y/z' }, 'CAUSEWAY_DATABASE_URL is invalid'],
    [{ ...VALID_CP, CAUSEWAY_ADMIN_TOKEN: 'short' }, 'CAUSEWAY_ADMIN_TOKEN is invalid'],
    [{ ...VALID_CP, CAUSEWAY_HTTP_PORT: '70000' }, 'CAUSEWAY_HTTP_PORT is invalid (got "70000")'],
    [{ ...VALID_CP, CAUSEWAY_LOG_LEVEL: 'loud' }, 'CAUSEWAY_LOG_LEVEL is invalid'],
    [{ ...VALID_CP, CAUSEWAY_CA_SEAL_KEY: 'short' }, 'CAUSEWAY_CA_SEAL_KEY is invalid'],
  ])('control plane refuses %#', async (env, expected) => {
    const { code, stderr } = await runToExit('services/control-plane/dist/main.js', env);
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(expected);
    expect(lines[0]).toContain('it expects');
    // A secret is never echoed, even when it is the bad value.
    expect(stderr).not.toMatch(/secret-db-password|secret-amqp-password|short/);
  });

  describe('node', () => {
    const dirs: string[] = [];
    /** A state directory holding `nodeJson` as its enrolment record (none when undefined). */
    const stateDir = (nodeJson?: string): string => {
      const dir = mkdtempSync(join(tmpdir(), 'causeway-config-'));
      dirs.push(dir);
      if (nodeJson !== undefined) writeFileSync(join(dir, 'node.json'), nodeJson, { mode: 0o600 });
      return dir;
    };
    /** What enrolment writes, with a broker password that must never be echoed. */
    const enrolled = (): string =>
      JSON.stringify({
        nodeId: randomUUID(),
        tenantId: randomUUID(),
        region: 'eu-west',
        amqpUrl: 'amqp://node-x:secret-amqp-password@127.0.0.1:5672',
        bridgeNamespace: 'causeway',
        controlPlane: 'http://127.0.0.1:8080',
        certificateNotAfter: new Date(Date.now() + 86_400_000).toISOString(),
        enrolledAt: new Date().toISOString(),
      });
    afterAll(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it.each([
      [() => ({ CAUSEWAY_STATE_DIR: stateDir() }), 'holds no enrolled node (node.json)'],
      [
        () => ({ CAUSEWAY_STATE_DIR: stateDir('{"nodeId":"x"}') }),
        'is not a valid enrolment record; enrol again',
      ],
      [
        () => ({ CAUSEWAY_STATE_DIR: stateDir(enrolled()), CAUSEWAY_NODE_ID: 'node-1' }),
        'CAUSEWAY_NODE_ID is invalid (got "node-1")',
      ],
      [
        () => ({ CAUSEWAY_STATE_DIR: stateDir(enrolled()), CAUSEWAY_AMQP_URL: 'http://x' }),
        'CAUSEWAY_AMQP_URL is invalid',
      ],
      [
        () => ({ CAUSEWAY_STATE_DIR: stateDir(enrolled()), CAUSEWAY_HEARTBEAT_INTERVAL_MS: '5' }),
        'CAUSEWAY_HEARTBEAT_INTERVAL_MS is invalid',
      ],
    ])('refuses %#', async (env, expected) => {
      const { code, stderr } = await runToExit('services/node/dist/main.js', env());
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toContain(expected);
      expect(stderr).not.toContain('secret-amqp-password');
    });

    it('names the enrol command when the state directory holds no enrolment', async () => {
      const dir = stateDir();
      const { code, stderr } = await runToExit('services/node/dist/main.js', {
        CAUSEWAY_STATE_DIR: dir,
      });
      expect(code).toBe(2);
      expect(stderr).toContain(`causeway-node enroll --control-plane URL --token TOKEN`);
      expect(stderr).toContain(`--state-dir ${dir}`);
    });
  });
});
