import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { BridgeTopology } from '@causeway/bridge';
import { BrokerUsersError } from './broker-users.errors';
import { BrokerUsersService, nodeBrokerPermissions } from './broker-users.service';

const A = '0c5e7c1c-4f1e-4f4e-9d52-3bb0b2f6a6f1';
const B = '7d0a2a52-1d7f-4b7e-8a3e-5e2f0c9b1a22';
const ADMIN_PASSWORD = 'admin-Pa55-word-not-for-logs';

interface Call {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
}

/** A fake management API: records calls, answers from `respond` (204 by default). */
function fakeApi(respond: (call: Call) => Response | undefined = () => undefined) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL, init?: RequestInit) => {
    const call: Call = {
      method: init?.method ?? 'GET',
      path: new URL(String(input)).pathname,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return respond(call) ?? new Response(null, { status: 204 });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, logger: pino({ level: 'trace' }, stream) };
}

function service(fetchImpl: typeof fetch, logger?: pino.Logger) {
  return new BrokerUsersService(
    {
      managementUrl: 'http://127.0.0.1:15672',
      adminUsername: 'cp-admin',
      adminPassword: ADMIN_PASSWORD,
      namespace: 'causeway',
      fetch: fetchImpl,
    },
    logger,
  );
}

describe('nodeBrokerPermissions', () => {
  const topology = new BridgeTopology('causeway');
  const p = nodeBrokerPermissions(topology, A);
  const re = (source: string) => new RegExp(source);

  it('grants exactly the node’s own queue and exchange, anchored, dots escaped', () => {
    expect(p).toEqual({
      username: `node-${A}`,
      vhost: '/',
      configure: `^(causeway\\.node\\.${A}\\.rpc|causeway\\.node\\.${A}\\.out|causeway\\.node\\.${A}\\.stream-in|causeway\\.node\\.${A}\\.stream-ctl)$`,
      write: `^causeway\\.node\\.${A}\\.out$`,
      read: `^(causeway\\.node\\.${A}\\.rpc|causeway\\.node\\.${A}\\.stream-in|causeway\\.node\\.${A}\\.stream-ctl)$`,
      topic: {
        exchange: `causeway.node.${A}.out`,
        write:
          '^(heartbeat|dead-letter|command-results|reply\\.[a-z0-9-]{1,64}|stream-in\\.[a-z0-9-]{1,64}|stream-ctl\\.[a-z0-9-]{1,64})$',
        read: '^$',
      },
    });
  });

  it('matches the own names and nothing around them', () => {
    const own = [topology.nodeRpcQueue(A), topology.nodeExchange(A)];
    for (const name of own) expect(re(p.configure).test(name)).toBe(true);
    const others = [
      topology.nodeRpcQueue(B),
      topology.nodeExchange(B),
      topology.inboundExchange,
      topology.deadLetterExchange,
      topology.deadLetterQueue,
      topology.heartbeatQueue,
      topology.replyQueue('cp-1'),
      'amq.default',
      `${topology.nodeRpcQueue(A)}.x`,
      `x${topology.nodeRpcQueue(A)}`,
      topology.nodeRpcQueue(A).replace(/\./g, 'x'), // an unescaped dot would match this
    ];
    for (const name of others) {
      expect([name, re(p.configure).test(name)]).toEqual([name, false]);
      expect([name, re(p.write).test(name)]).toEqual([name, false]);
      expect([name, re(p.read).test(name)]).toEqual([name, false]);
    }
    expect(re(p.write).test(topology.nodeExchange(A))).toBe(true);
    expect(re(p.write).test(topology.nodeRpcQueue(A))).toBe(false);
    expect(re(p.read).test(topology.nodeRpcQueue(A))).toBe(true);
    expect(re(p.read).test(topology.nodeExchange(A))).toBe(false);
  });

  it('lets the node publish only with the bridge’s routing keys', () => {
    for (const key of ['heartbeat', 'dead-letter', 'reply.cp-1', 'reply.control-plane-0']) {
      expect([key, re(p.topic.write).test(key)]).toEqual([key, true]);
    }
    for (const key of ['', 'reply.', 'reply.a.b', 'x.heartbeat', 'heartbeat.x', 'audit', '#']) {
      expect([key, re(p.topic.write).test(key)]).toEqual([key, false]);
    }
  });

  it.each(['', 'A', '../x', 'a.b', 'a|b', '.*', 'a$', '-a', 'a'.repeat(65)])(
    'refuses node id %j, which would change the expressions',
    (id) => {
      expect(() => nodeBrokerPermissions(topology, id)).toThrow(BrokerUsersError);
    },
  );
});

describe('BrokerUsersService', () => {
  it('provisions user, permissions and topic permissions; logs no password', async () => {
    const api = fakeApi();
    const { lines, logger } = capturedLogger();
    const credentials = await service(api.fetchImpl, logger).provisionNode(A);

    expect(credentials.username).toBe(`node-${A}`);
    expect(credentials.password).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `PUT /api/users/node-${A}`,
      `PUT /api/permissions/%2F/node-${A}`,
      `PUT /api/topic-permissions/%2F/node-${A}`,
    ]);
    expect(api.calls[0].body?.tags).toBe('');
    expect(api.calls[0].body?.password === credentials.password).toBe(true);
    expect(api.calls[2].body?.exchange).toBe(`causeway.node.${A}.out`);

    const shown = [
      lines.join(''),
      JSON.stringify(credentials),
      inspect(credentials),
      JSON.stringify({ credentials }),
    ].join('\n');
    expect(lines.join('')).toContain('node broker user provisioned');
    expect(shown.includes(credentials.password)).toBe(false);
    expect(shown.includes(ADMIN_PASSWORD)).toBe(false);
  });

  it('gives a different password every time', async () => {
    const s = service(fakeApi().fetchImpl);
    const one = await s.provisionNode(A);
    const two = await s.provisionNode(A);
    expect(one.password === two.password).toBe(false);
  });

  it('removes the user again when a later step fails, and rethrows without secrets', async () => {
    const api = fakeApi((call) =>
      call.path.startsWith('/api/permissions/')
        ? Response.json({ error: 'bad_request', reason: 'nope' }, { status: 400 })
        : undefined,
    );
    const { lines, logger } = capturedLogger();
    const s = service(api.fetchImpl, logger);
    let error: unknown;
    try {
      await s.provisionNode(A);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'management_rejected', status: 400 });
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `PUT /api/users/node-${A}`,
      `PUT /api/permissions/%2F/node-${A}`,
      `DELETE /api/users/node-${A}`,
    ]);
    const password = String(api.calls[0].body?.password);
    const shown = [lines.join(''), inspect(error), JSON.stringify(error)].join('\n');
    expect(shown.includes(password)).toBe(false);
    expect(shown.includes(ADMIN_PASSWORD)).toBe(false);
  });

  it('revokes by deleting the user first, then closing its connections; idempotent', async () => {
    let deleted = false;
    const api = fakeApi((call) => {
      if (call.method === 'DELETE' && call.path.startsWith('/api/users/')) {
        const existed = !deleted;
        deleted = true;
        return new Response(null, { status: existed ? 204 : 404 });
      }
      if (call.method === 'GET') {
        return Response.json(deleted ? [] : [{ name: 'c1', user: `node-${A}` }]);
      }
      return undefined;
    });
    const s = service(api.fetchImpl);
    expect(await s.revokeNode(A)).toEqual({
      username: `node-${A}`,
      userDeleted: true,
      connectionsClosed: 0,
    });
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `DELETE /api/users/node-${A}`,
      `GET /api/connections/username/node-${A}`,
      `DELETE /api/connections/username/node-${A}`,
    ]);
    expect(await s.revokeNode(A)).toMatchObject({ userDeleted: false });
  });

  it('is ready only with the administrator tag', async () => {
    const as = (tags: string[]) =>
      service(fakeApi(() => Response.json({ name: 'cp-admin', tags })).fetchImpl);
    await expect(as(['administrator']).checkReady()).resolves.toBeUndefined();
    await expect(
      as(['management', 'policymaker', 'monitoring']).checkReady(),
    ).rejects.toMatchObject({ code: 'management_not_administrator' });
  });

  it('refuses an invalid node id before calling the broker', async () => {
    const api = fakeApi();
    await expect(service(api.fetchImpl).provisionNode('a.*')).rejects.toMatchObject({
      code: 'invalid_node_id',
    });
    await expect(service(api.fetchImpl).revokeNode('')).rejects.toBeInstanceOf(BrokerUsersError);
    expect(api.calls).toEqual([]);
  });
});
