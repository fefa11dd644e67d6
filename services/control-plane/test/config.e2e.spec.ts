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

  it.each([
    [{ CAUSEWAY_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672' }, 'CAUSEWAY_NODE_ID is not set'],
    [
      { CAUSEWAY_NODE_ID: 'node-1', CAUSEWAY_AMQP_URL: 'amqp://g:g@h:1' },
      'CAUSEWAY_NODE_ID is invalid (got "node-1")',
    ],
    [
      { CAUSEWAY_NODE_ID: '2b0c6f38-5d51-4d0e-9a57-4f2d0bb0e0a1', CAUSEWAY_AMQP_URL: 'http://x' },
      'CAUSEWAY_AMQP_URL is invalid',
    ],
  ])('node refuses %#', async (env, expected) => {
    const { code, stderr } = await runToExit('services/node/dist/main.js', env);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(expected);
  });
});
