import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, statSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  createCsr,
  generateKeyPair,
  generateSigningKeyPair,
  loadSigningPrivateKey,
  signingKeyId,
  verifyNodeCertificate,
} from '@causeway/crypto';
import { ServiceProcess, enrolNodeProcess, eventually } from '@causeway/testing';
import type { NodeView } from '../src/nodes/nodes.dto';
import { HEARTBEAT_MS, Stack } from './harness';

describe('node enrolment with one-time join tokens', () => {
  let stack: Stack;
  let url: string;
  const dirs: string[] = [];
  const stateDir = (): string => {
    const dir = join(mkdtempSync(join(tmpdir(), 'causeway-enrol-')), 'state');
    dirs.push(dir);
    return dir;
  };
  const enrolCli = async (token: string, name: string, dir: string, ...extra: string[]) => {
    const proc = new ServiceProcess('services/node/dist/cli/main.js', {}, [
      'enroll',
      '--control-plane',
      url,
      '--token',
      token,
      '--name',
      name,
      '--state-dir',
      dir,
      '--json',
      ...extra,
    ]);
    return { code: await proc.exited, out: proc.lines.join('\n'), err: proc.stderr.join('') };
  };
  const newToken = async (tenant = 'acme'): Promise<{ id: string; token: string }> =>
    (await stack.http().post(`/api/v1/tenants/${tenant}/join-tokens`).send({}).expect(201))
      .body as {
      id: string;
      token: string;
    };

  beforeAll(async () => {
    stack = await Stack.start({ CAUSEWAY_CA_SEAL_KEY: 'a test seal passphrase' });
    url = await stack.app.getUrl();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
  });
  afterAll(async () => {
    await stack?.close();
    for (const d of dirs) rmSync(join(d, '..'), { recursive: true, force: true });
  });

  it('enrols a node with causeway-node enroll, which then runs from its state directory alone', async () => {
    const { token } = await newToken();
    expect(token).toMatch(/^cwj_/);
    const dir = stateDir();
    const enrolled = await enrolCli(token, 'edge-1', dir);
    expect(enrolled.code).toBe(0);
    const { nodeId } = JSON.parse(enrolled.out) as { nodeId: string };
    stack.nodeIds.push(nodeId);

    // The private keys never left the node and are readable by its user only.
    expect(statSync(join(dir, 'node.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'signing.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'node.json')).mode & 0o777).toBe(0o600);
    // The control plane recorded the public half of exactly the node's signing key.
    const recorded = await stack.app
      .get(DataSource)
      .query<Array<{ signing_key_pem: string }>>(
        'SELECT signing_key_pem FROM nodes WHERE id = $1',
        [nodeId],
      );
    expect(signingKeyId(recorded[0]?.signing_key_pem ?? '')).toBe(
      signingKeyId(loadSigningPrivateKey(readFileSync(join(dir, 'signing.key'), 'utf8'))),
    );
    const cert = verifyNodeCertificate({
      certPem: readFileSync(join(dir, 'node.crt'), 'utf8'),
      caCertPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      now: new Date(),
    });
    const acme = (
      (await stack.http().get('/api/v1/nodes?tenant=acme').expect(200)).body.items as NodeView[]
    ).find((n) => n.id === nodeId);
    expect(acme).toMatchObject({ name: 'edge-1', region: 'eu-west' });
    expect(cert).toMatchObject({ nodeId, tenantId: acme?.tenantId });

    // Nothing but the state directory: id, broker URL (its own user) and namespace come from it.
    const node = new ServiceProcess('services/node/dist/main.js', {
      CAUSEWAY_STATE_DIR: dir,
      CAUSEWAY_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    });
    stack.nodes.push(node);
    await eventually(
      async () =>
        ((await stack.http().get(`/api/v1/nodes/${nodeId}`)).body as NodeView).status === 'online',
      { timeoutMs: 20_000, what: 'the enrolled node online' },
    );
    const ping = await stack
      .http()
      .post(`/api/v1/nodes/${nodeId}/ping`)
      .send({ echo: 'enrolled' })
      .expect(200);
    expect(ping.body.echo).toBe('enrolled');

    // Revocation cuts the node off within seconds: the broker closes its connection and
    // refuses it afterwards, and the control plane refuses requests to it.
    const revoked = await stack.http().post(`/api/v1/nodes/${nodeId}/revoke`).expect(200);
    expect(revoked.body).toMatchObject({ status: 'revoked' });
    await eventually(() => node.logs().some((l) => l.msg === 'disconnected from broker'), {
      timeoutMs: 10_000,
      what: "the broker closing the revoked node's connection",
    });
    await eventually(
      () => node.logs().some((l) => l.msg === 'could not connect to broker; retrying'),
      {
        timeoutMs: 10_000,
        what: 'the revoked node being refused by the broker',
      },
    );
    const refused = await stack.http().post(`/api/v1/nodes/${nodeId}/ping`).send({}).expect(503);
    expect(refused.body.message).toContain('revoked');

    // The token was consumed.
    const reused = await enrolCli(token, 'edge-2', stateDir());
    expect(reused.code).toBe(1);
    expect(reused.err).toContain('[join_token_invalid]');
    const listed = (await stack.http().get('/api/v1/tenants/acme/join-tokens').expect(200)).body
      .items as Array<{
      state: string;
      usedByNode: string;
    }>;
    expect(listed.find((t) => t.usedByNode === nodeId)?.state).toBe('used');
    expect(JSON.stringify(listed)).not.toContain(token);
  });

  it('never trusts a node whose signing key it did not record at enrolment', async () => {
    const { token } = await newToken();
    const { nodeId, stateDir: dir } = await enrolNodeProcess({
      controlPlaneUrl: url,
      token,
      name: 'edge-swapped',
      stateDir: stateDir(),
    });
    stack.nodeIds.push(nodeId);
    // Someone with the node's files but another signing key (a stolen broker password, say).
    const other = await generateSigningKeyPair();
    rmSync(join(dir, 'signing.key'));
    writeFileSync(join(dir, 'signing.key'), other.privateKeyPem, { mode: 0o600 });
    const node = new ServiceProcess('services/node/dist/main.js', {
      CAUSEWAY_STATE_DIR: dir,
      CAUSEWAY_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    });
    stack.nodes.push(node);

    // Its heartbeats reach the control plane and are refused, so it never comes online.
    await eventually(
      () =>
        stack.logs.some(
          (l) => l.includes('heartbeat without a valid node signature') && l.includes(nodeId),
        ),
      { timeoutMs: 20_000, what: 'the heartbeat signed by an unknown key refused' },
    );
    const view = (await stack.http().get(`/api/v1/nodes/${nodeId}`).expect(200)).body as NodeView;
    expect(view).toMatchObject({ status: 'offline', lastHeartbeatAt: null });
    const ping = await stack.http().post(`/api/v1/nodes/${nodeId}/ping`).send({}).expect(503);
    expect(ping.body.code).toBe('node_unavailable');
  });

  it('refuses expired and revoked tokens, and a bad CSR without consuming the token', async () => {
    const expired = await newToken();
    // Time passes: the token's expiry moves into the past.
    await stack.app
      .get(DataSource)
      .query(`UPDATE join_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        expired.id,
      ]);
    expect((await enrolCli(expired.token, 'late', stateDir())).err).toContain(
      '[join_token_invalid]',
    );

    const revoked = await newToken();
    const res = await stack
      .http()
      .delete(`/api/v1/tenants/acme/join-tokens/${revoked.id}`)
      .expect(200);
    expect(res.body.state).toBe('revoked');
    expect((await enrolCli(revoked.token, 'revoked', stateDir())).err).toContain(
      '[join_token_invalid]',
    );

    const good = await newToken();
    const { publicKeyPem: signingKey } = await generateSigningKeyPair();
    const badCsr = await stack
      .anonymous()
      .post('/api/v1/enroll')
      .send({ token: good.token, csr: 'x'.repeat(200), name: 'bad', signingKey });
    expect(badCsr.status).toBe(400);
    expect(badCsr.body.code).toBe('invalid_csr');
    const keys = await generateKeyPair();
    const notAUuid = createCsr({ privateKeyPem: keys.privateKeyPem, commonName: 'node-1' });
    const wrongCn = await stack
      .anonymous()
      .post('/api/v1/enroll')
      .send({ token: good.token, csr: notAUuid, name: 'bad', signingKey });
    expect(wrongCn.body.code).toBe('invalid_csr');
    // A signing key that is not Ed25519 (here the certificate's RSA key) is refused.
    const rsaSigningKey = await stack
      .anonymous()
      .post('/api/v1/enroll')
      .send({
        token: good.token,
        csr: createCsr({ privateKeyPem: keys.privateKeyPem, commonName: randomUUID() }),
        name: 'bad',
        signingKey: keys.publicKeyPem,
      });
    expect(rsaSigningKey.status).toBe(400);
    expect(rsaSigningKey.body).toMatchObject({ code: 'validation_failed' });
    expect(rsaSigningKey.body.message).toContain('Ed25519');
    // A name already taken in the tenant is refused, and does not burn the token either.
    const taken = await enrolCli(good.token, 'edge-1', stateDir());
    expect(taken.err).toContain('[conflict]');
    // Still usable: a refused request does not burn the token.
    const ok = await enrolCli(good.token, 'edge-3', stateDir());
    expect(ok.code).toBe(0);
    stack.nodeIds.push((JSON.parse(ok.out) as { nodeId: string }).nodeId);
  });

  it("refuses a CSR that names another tenant than the token's, without consuming the token", async () => {
    const { token } = await newToken('acme');
    const ids = await stack.app
      .get(DataSource)
      .query<Array<{ slug: string; id: string }>>('SELECT slug, id FROM tenants');
    const acmeId = ids.find((t) => t.slug === 'acme')?.id ?? '';
    const globexId = ids.find((t) => t.slug === 'globex')?.id ?? '';
    const wrong = await enrolCli(token, 'tenant-check', stateDir(), '--tenant-id', globexId);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('[invalid_csr]');
    expect(wrong.err).toContain('another tenant');
    const right = await enrolCli(token, 'tenant-check', stateDir(), '--tenant-id', acmeId);
    expect(right.code).toBe(0);
    const enrolled = JSON.parse(right.out) as { nodeId: string; tenantId: string };
    expect(enrolled.tenantId).toBe(acmeId);
    stack.nodeIds.push(enrolled.nodeId);
  });

  it('creates, lists and revokes join tokens with the causeway admin CLI', async () => {
    const admin = async (...args: string[]) => {
      const proc = new ServiceProcess(
        'services/control-plane/dist/admin-cli/main.js',
        { CAUSEWAY_TOKEN: stack.config.adminToken },
        ['--url', url, ...args],
      );
      return { code: await proc.exited, out: proc.lines.join('\n') };
    };
    const created = await admin(
      'join-tokens',
      'create',
      '--tenant',
      'acme',
      '--ttl',
      '600',
      '--json',
    );
    expect(created.code).toBe(0);
    const { id, token } = JSON.parse(created.out) as { id: string; token: string };
    expect(token).toMatch(/^cwj_/);
    expect((await admin('join-tokens', 'list', '--tenant', 'acme')).out).toContain(`${id}  active`);
    expect((await admin('join-tokens', 'revoke', '--tenant', 'acme', id)).out).toContain('revoked');
    expect((await enrolCli(token, 'never', stateDir())).err).toContain('[join_token_invalid]');
  });

  it('keeps tenants apart: join tokens are listed and revoked only within their tenant', async () => {
    const acmeToken = await newToken('acme');
    const globexList = (await stack.http().get('/api/v1/tenants/globex/join-tokens').expect(200))
      .body.items as Array<{
      id: string;
    }>;
    expect(globexList.map((t) => t.id)).not.toContain(acmeToken.id);
    await stack.http().delete(`/api/v1/tenants/globex/join-tokens/${acmeToken.id}`).expect(404);
    // A token for another region than the tenant's data residency is refused.
    const wrongRegion = await stack
      .http()
      .post('/api/v1/tenants/acme/join-tokens')
      .send({ region: 'us-east' })
      .expect(400);
    expect(wrongRegion.body.message).toContain('eu-west');
  });
});
