import { inspect } from 'node:util';
import { BrokerUsersError, RabbitMqManagementError } from './broker-users.errors';
import { RabbitMqManagementClient } from './rabbitmq-management.client';

// Test-only strings; assertions check them with includes() so a failure never prints them.
const ADMIN_PASSWORD = 'admin-Pa55-word-not-for-logs';
const NODE_PASSWORD = 'node-Pa55-word-not-for-logs';
const BASIC = Buffer.from(`cp-admin:${ADMIN_PASSWORD}`).toString('base64');

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  redirect: string | undefined;
}

/** A fetch that records calls and answers from `respond`. */
function fakeFetch(respond: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const impl = (async (input: string | URL, init?: RequestInit) => {
    const call: Call = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers: init?.headers as Record<string, string>,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      redirect: init?.redirect,
    };
    calls.push(call);
    return respond(call);
  }) as typeof fetch;
  return { impl, calls };
}

function client(fetchImpl?: typeof fetch, baseUrl = 'http://127.0.0.1:15672', timeoutMs = 2000) {
  return new RabbitMqManagementClient({
    baseUrl,
    username: 'cp-admin',
    password: ADMIN_PASSWORD,
    vhost: '/',
    timeoutMs,
    fetch: fetchImpl,
  });
}

/** Everything a log line or a test report could show of an error. */
function everything(error: unknown): string {
  return [
    String(error),
    inspect(error, { depth: 5, showHidden: true }),
    JSON.stringify(error),
    (error as Error).stack ?? '',
  ].join('\n');
}

function leaks(text: string): string[] {
  const found: string[] = [];
  if (text.includes(ADMIN_PASSWORD)) found.push('admin password');
  if (text.includes(NODE_PASSWORD)) found.push('node password');
  if (text.includes(BASIC)) found.push('basic credentials');
  if (/authorization/i.test(text)) found.push('authorization header');
  return found;
}

async function caught(promise: Promise<unknown>): Promise<RabbitMqManagementError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RabbitMqManagementError);
    return error as RabbitMqManagementError;
  }
  throw new Error('expected the call to fail');
}

describe('RabbitMqManagementClient', () => {
  it('encodes the default vhost as %2F and sends JSON with basic auth, no redirects', async () => {
    const fake = fakeFetch(() => new Response(null, { status: 201 }));
    await client(fake.impl).setPermissions('node-1', {
      configure: '^a$',
      write: '^b$',
      read: '^c$',
    });
    expect(fake.calls).toHaveLength(1);
    const [call] = fake.calls;
    expect(call.method).toBe('PUT');
    expect(call.url).toBe('http://127.0.0.1:15672/api/permissions/%2F/node-1');
    expect(call.body).toEqual({ configure: '^a$', write: '^b$', read: '^c$' });
    expect(call.headers.authorization === `Basic ${BASIC}`).toBe(true);
    expect(call.redirect).toBe('error');
  });

  it('keeps a path prefix of the base URL (a reverse proxy)', async () => {
    const fake = fakeFetch(() => Response.json({ name: 'cp-admin', tags: ['administrator'] }));
    const me = await client(fake.impl, 'https://proxy.example.com/rabbitmq').whoami();
    expect(fake.calls[0].url).toBe('https://proxy.example.com/rabbitmq/api/whoami');
    expect(me).toEqual({ name: 'cp-admin', tags: ['administrator'] });
  });

  it('reads tags given as a comma-separated string (older brokers)', async () => {
    const fake = fakeFetch(() => Response.json({ name: 'cp-admin', tags: 'administrator,x' }));
    expect((await client(fake.impl).whoami()).tags).toEqual(['administrator', 'x']);
  });

  it('turns a refusal into a typed error with status and endpoint, and no secret', async () => {
    // A hostile or buggy answer that echoes everything it was sent.
    const fake = fakeFetch(
      (call) =>
        new Response(
          JSON.stringify({
            error: 'not_authorised',
            reason: `bad ${call.headers.authorization} ${ADMIN_PASSWORD} ${NODE_PASSWORD}`,
          }),
          { status: 401 },
        ),
    );
    const error = await caught(client(fake.impl).putUser('node-1', NODE_PASSWORD));
    expect(error).toBeInstanceOf(BrokerUsersError);
    expect(error.code).toBe('management_rejected');
    expect(error.status).toBe(401);
    expect(error.method).toBe('PUT');
    expect(error.endpoint).toBe('/api/users/node-1');
    expect(error.message).toContain('PUT /api/users/node-1 answered 401');
    expect(error.message).toContain('not_authorised');
    expect(leaks(everything(error))).toEqual([]);
  });

  it('ignores a non-JSON error body rather than copying it', async () => {
    const fake = fakeFetch(() => new Response(`<html>${ADMIN_PASSWORD}</html>`, { status: 500 }));
    const error = await caught(client(fake.impl).whoami());
    expect(error.status).toBe(500);
    expect(leaks(everything(error))).toEqual([]);
  });

  it('times out with AbortSignal.timeout', async () => {
    // Never answers; gives up only when the signal aborts, as the real fetch does.
    const silent = ((_input: string | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
      )) as typeof fetch;
    const started = Date.now();
    const error = await caught(client(silent, undefined, 100).whoami());
    expect(error.code).toBe('management_timeout');
    expect(error.status).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports an unreachable API with the network reason only', async () => {
    // Port 1 on localhost: nothing listens there.
    const error = await caught(client(undefined, 'http://127.0.0.1:1').whoami());
    expect(error.code).toBe('management_unreachable');
    expect(error.message).toContain('GET /api/whoami');
    expect(leaks(everything(error))).toEqual([]);
  });

  it('treats 404 on delete as already gone', async () => {
    const fake = fakeFetch((call) =>
      call.url.endsWith('/gone') ? new Response(null, { status: 404 }) : new Response(null),
    );
    await expect(client(fake.impl).deleteUser('gone')).resolves.toBe(false);
    await expect(client(fake.impl).deleteUser('here')).resolves.toBe(true);
  });

  it("closes the user's connections with one per-user DELETE carrying X-Reason", async () => {
    const fake = fakeFetch((call) => {
      if (call.method === 'GET') {
        return Response.json([
          { name: '10.0.0.1:1000 -> 10.0.0.2:5672', user: 'node-1' },
          { name: '10.0.0.1:1001 -> 10.0.0.2:5672', user: 'node-1' },
          { name: '10.0.0.9:1002 -> 10.0.0.2:5672', user: 'node-2' },
        ]);
      }
      return new Response(null, { status: 204 });
    });
    const closed = await client(fake.impl).closeConnectionsOf('node-1', 'revoked ✓');
    expect(closed).toBe(2);
    expect(fake.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET http://127.0.0.1:15672/api/connections/username/node-1',
      'DELETE http://127.0.0.1:15672/api/connections/username/node-1',
    ]);
    // Header values must be plain ASCII.
    expect(fake.calls[1].headers['X-Reason']).toBe('revoked ?');
  });

  it('never shows its credentials when logged or serialised', () => {
    const c = client();
    expect(leaks(inspect(c, { depth: 5, showHidden: true }) + JSON.stringify(c))).toEqual([]);
  });

  it('refuses a base URL with credentials without echoing it', () => {
    let message = '';
    try {
      client(undefined, `http://cp-admin:${ADMIN_PASSWORD}@127.0.0.1:15672`);
    } catch (error) {
      message = everything(error);
    }
    expect(message).toContain('must not contain credentials');
    expect(leaks(message)).toEqual([]);
  });
});
