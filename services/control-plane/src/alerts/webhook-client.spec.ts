import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookTargetError } from './alerts.errors';
import { internalRange, WebhookClient, type ResolveAll } from './webhook-client';

const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:4700:4700::1111';

/** A resolver that answers from a table, and counts how often it was asked. */
function fakeDns(table: Record<string, string[] | (() => string[])>) {
  const asked: string[] = [];
  const resolve: ResolveAll = (host) => {
    asked.push(host);
    const entry = table[host];
    const list = typeof entry === 'function' ? entry() : entry;
    if (list === undefined) {
      return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    }
    return Promise.resolve(
      list.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  return { resolve, asked };
}

const strict = (resolve?: ResolveAll) =>
  new WebhookClient({ allowPrivate: false, timeoutMs: 2_000 }, resolve);

async function refusal(promise: Promise<unknown>): Promise<WebhookTargetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebhookTargetError);
  return error as WebhookTargetError;
}

describe('internalRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'ipv4Compatible'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['fe80::1%eth0', 'linkLocal'],
    ['not-an-address', 'unreadable'],
  ])('refuses %s (%s)', (address, range) => {
    expect(internalRange(address)).toBe(range);
  });

  it.each([PUBLIC_V4, '8.8.8.8', PUBLIC_V6, `::ffff:${PUBLIC_V4}`])('accepts %s', (address) => {
    expect(internalRange(address)).toBeUndefined();
  });
});

describe('WebhookClient.check (saving settings)', () => {
  it.each([
    'http://127.0.0.1/hooks',
    'https://127.0.0.1/hooks',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::ffff:10.0.0.1]/',
    'https://[::1]:8443/',
    'https://0x7f.1/',
    'https://2130706433/',
    'https://[fd00::5]/',
    'https://100.64.1.1/',
  ])('refuses %s without resolving anything', async (url) => {
    const dns = fakeDns({});
    const error = await refusal(strict(dns.resolve).check(url));
    expect(error.code).toBe('webhook_url_not_allowed');
    expect(dns.asked).toEqual([]);
  });

  it('refuses a name when any of its addresses is internal', async () => {
    const dns = fakeDns({
      'hooks.inside.test': ['127.0.0.1'],
      'hooks.mixed.test': [PUBLIC_V4, '10.1.2.3'],
    });
    const inside = await refusal(strict(dns.resolve).check('https://hooks.inside.test/x'));
    expect(inside.code).toBe('webhook_url_not_allowed');
    expect(inside.message).toContain('hooks.inside.test (127.0.0.1), a loopback address');
    const mixed = await refusal(strict(dns.resolve).check('https://hooks.mixed.test/x'));
    expect(mixed.message).toContain('10.1.2.3');
  });

  it('refuses a name that does not resolve, and plain http', async () => {
    const dns = fakeDns({ 'hooks.example.test': [PUBLIC_V4] });
    expect((await refusal(strict(dns.resolve).check('https://nowhere.test/'))).code).toBe(
      'webhook_host_unresolved',
    );
    expect((await refusal(strict(dns.resolve).check('http://hooks.example.test/'))).code).toBe(
      'webhook_url_not_allowed',
    );
    expect((await refusal(strict(dns.resolve).check('https://u:p@hooks.example.test/'))).code).toBe(
      'webhook_url_invalid',
    );
  });

  it('accepts a public name and drops the fragment', async () => {
    const dns = fakeDns({ 'hooks.example.test': [PUBLIC_V4, PUBLIC_V6] });
    const url = await strict(dns.resolve).check('https://hooks.example.test/h?k=1#frag');
    expect(url.toString()).toBe('https://hooks.example.test/h?k=1');
  });

  it('with internal targets allowed, accepts them and plain http', async () => {
    const open = new WebhookClient({ allowPrivate: true, timeoutMs: 2_000 }, fakeDns({}).resolve);
    await expect(open.check('http://127.0.0.1:9000/h')).resolves.toBeInstanceOf(URL);
    await expect(open.check('http://[::ffff:10.0.0.1]/')).resolves.toBeInstanceOf(URL);
    await expect(open.check('ftp://127.0.0.1/')).rejects.toBeInstanceOf(WebhookTargetError);
  });
});

describe('WebhookClient.post (each delivery)', () => {
  let server: Server;
  let port: number;
  const received: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('refuses a name that was public when saved and resolves inside now (DNS rebinding)', async () => {
    let answers = 0;
    // First the public address (the check when saving), then the receiver on this machine.
    const dns = fakeDns({
      'hooks.rebind.test': () => (answers++ === 0 ? [PUBLIC_V4] : ['127.0.0.1']),
    });
    const client = strict(dns.resolve);
    await client.check(`https://hooks.rebind.test:${port}/h`);
    const error = await refusal(client.post(`https://hooks.rebind.test:${port}/h`, {}, '{}'));
    expect(error.message).toContain('127.0.0.1');
    expect(received).toEqual([]);
  });

  it('refuses a literal internal address without connecting', async () => {
    const error = await refusal(strict().post(`https://127.0.0.1:${port}/h`, {}, '{}'));
    expect(error.code).toBe('webhook_url_not_allowed');
    expect(received).toEqual([]);
  });

  it('connects to the address it resolved and checked, keeping the Host of the URL', async () => {
    // Allowed here only because the test's receiver is on this machine; the name exists only
    // in the fake resolver, so a second (system) resolution could not have found it.
    const dns = fakeDns({ 'hooks.example.test': ['127.0.0.1'] });
    const client = new WebhookClient({ allowPrivate: true, timeoutMs: 2_000 }, dns.resolve);
    const status = await client.post(
      `http://hooks.example.test:${port}/h`,
      { 'Content-Type': 'application/json' },
      '{"a":1}',
    );
    expect(status).toBe(204);
    expect(received).toHaveLength(1);
    expect(received[0]?.host).toBe(`hooks.example.test:${port}`);
    expect(received[0]?.['content-length']).toBe('7');
    expect(dns.asked).toEqual(['hooks.example.test']);
  });
});
