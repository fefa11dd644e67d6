import { createPublicKey, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { UnsecuredJWT } from 'jose';
import {
  BridgeClient,
  DelegationMinter,
  MessageSigner,
  bodyDigest,
  encode,
  replyRoute,
} from '@causeway/bridge';
import {
  ENVELOPE_VERSION,
  HEADER_DELEGATION,
  type Principal,
  type ReplyEnvelope,
  type RequestEnvelope,
} from '@causeway/contracts';
import { generateSigningKeyPair, loadSigningPrivateKey, signingKeyId } from '@causeway/crypto';
import { eventually, nodeAuditIntact, rawAmqp, readNodeAudit } from '@causeway/testing';
import { DataSource } from 'typeorm';
import type { NodeView } from '../src/nodes/nodes.dto';
import { SigningKeysService } from '../src/trust/signing-keys.service';
import { HEARTBEAT_MS, OFFLINE_AFTER_MS, Stack } from './harness';

async function waitStatus(stack: Stack, id: string, status: NodeView['status']): Promise<NodeView> {
  return eventually(
    async () => {
      const res = await stack.http().get(`/api/v1/nodes/${id}`).expect(200);
      const view = res.body as NodeView;
      return view.status === status ? view : undefined;
    },
    { timeoutMs: 20_000, what: `node ${id} ${status}` },
  );
}

describe('trust on the bridge (real control plane, broker and node process)', () => {
  let stack: Stack;
  let node: NodeView;
  let amqp: ChannelModel;
  let channel: Channel;
  const replies = new Map<string, ReplyEnvelope>();
  const attackerRoute = replyRoute('attacker');

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    node = await stack.registerNode('acme', 'trust-node');
    stack.startNode(node.id);
    await waitStatus(stack, node.id, 'online');
    // Anyone with write access to the node's queue: here the broker's own admin user.
    amqp = await rawAmqp();
    channel = await amqp.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, stack.topology.nodeExchange(node.id), attackerRoute);
    await channel.consume(
      queue,
      (msg: ConsumeMessage | null) => {
        if (!msg) return;
        const reply = JSON.parse(msg.content.toString('utf8')) as ReplyEnvelope;
        replies.set(reply.inReplyTo, reply);
      },
      { noAck: true },
    );
  });

  afterAll(async () => {
    await amqp?.close();
    await stack?.close();
  });

  function request(overrides: Partial<RequestEnvelope> = {}): RequestEnvelope {
    return {
      v: ENVELOPE_VERSION,
      type: 'request',
      id: randomUUID(),
      requestId: `forge-${randomUUID()}`,
      method: 'ping',
      deadline: Date.now() + 20_000,
      sentAt: new Date().toISOString(),
      replyTo: attackerRoute,
      payload: { echo: 'x' },
      ...overrides,
    };
  }

  function principal(overrides: Partial<Principal> = {}): Principal {
    return {
      subject: 'user:mallory',
      tenantId: node.tenantId,
      permissions: ['nodes.ping'],
      ...overrides,
    };
  }

  const keys = () => stack.app.get(SigningKeysService);

  function genuineMinter(now: () => number = Date.now): DelegationMinter {
    return new DelegationMinter({
      issuer: keys().issuer,
      ttlSeconds: 30,
      activeKey: () => keys().activeKey(),
      now,
    });
  }

  async function mint(
    envelope: RequestEnvelope,
    body: Buffer,
    p: Principal = principal(),
    minter = genuineMinter(),
    audience = node.id,
  ): Promise<string> {
    return minter.mint({
      nodeId: audience,
      principal: p,
      messageId: envelope.id,
      method: envelope.method,
      body,
    });
  }

  function publish(body: Buffer, token: string | undefined): void {
    channel.sendToQueue(stack.topology.nodeRpcQueue(node.id), body, {
      persistent: true,
      contentType: 'application/json',
      headers: token === undefined ? {} : { [HEADER_DELEGATION]: token },
    });
  }

  async function replyTo(id: string): Promise<ReplyEnvelope> {
    return eventually(() => replies.get(id), { timeoutMs: 10_000, what: `reply to ${id}` });
  }

  it('answers a genuine delegation (the control for every refusal below)', async () => {
    const envelope = request();
    const body = encode(envelope);
    publish(body, await mint(envelope, body));
    expect(await replyTo(envelope.id)).toMatchObject({ ok: true, result: { pong: true } });
  });

  it('refuses forged delegations, answers with a clear code, runs nothing and audits each', async () => {
    const cases: Array<{
      name: string;
      send: () => Promise<RequestEnvelope>;
      code: string;
      reason: string;
    }> = [
      {
        name: 'signed by another key under the genuine key id',
        code: 'delegation_refused',
        reason: 'signature',
        send: async () => {
          const rogue = await generateSigningKeyPair();
          const { kid } = await keys().activeKey();
          const minter = new DelegationMinter({
            issuer: keys().issuer,
            ttlSeconds: 30,
            activeKey: () => ({ kid, privateKey: loadSigningPrivateKey(rogue.privateKeyPem) }),
          });
          const envelope = request();
          const body = encode(envelope);
          publish(body, await mint(envelope, body, principal(), minter));
          return envelope;
        },
      },
      {
        name: 'alg none',
        code: 'delegation_refused',
        reason: 'algorithm',
        send: async () => {
          const envelope = request();
          const body = encode(envelope);
          const now = Math.floor(Date.now() / 1000);
          const token = new UnsecuredJWT({
            tid: node.tenantId,
            perm: ['nodes.ping'],
            mid: envelope.id,
            mth: envelope.method,
            dig: bodyDigest(body),
          })
            .setIssuer(keys().issuer)
            .setAudience(node.id)
            .setSubject('user:mallory')
            .setJti(randomUUID())
            .setIssuedAt(now)
            .setExpirationTime(now + 30)
            .encode();
          publish(body, token);
          return envelope;
        },
      },
      {
        name: 'meant for another node',
        code: 'delegation_refused',
        reason: 'audience',
        send: async () => {
          const envelope = request();
          const body = encode(envelope);
          publish(body, await mint(envelope, body, principal(), genuineMinter(), randomUUID()));
          return envelope;
        },
      },
      {
        name: 'expired',
        code: 'delegation_expired',
        reason: 'expired',
        send: async () => {
          const envelope = request();
          const body = encode(envelope);
          publish(
            body,
            await mint(
              envelope,
              body,
              principal(),
              genuineMinter(() => Date.now() - 120_000),
            ),
          );
          return envelope;
        },
      },
      {
        name: 'tampered claims (more permissions, signature kept)',
        code: 'delegation_refused',
        reason: 'signature',
        send: async () => {
          const envelope = request();
          const body = encode(envelope);
          const [h, p, s] = (await mint(envelope, body)).split('.') as [string, string, string];
          const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<
            string,
            unknown
          >;
          claims.perm = ['nodes.ping', 'workspaces.create'];
          claims.sub = 'user:admin';
          publish(body, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`);
          return envelope;
        },
      },
      {
        name: 'a genuine token moved onto another message',
        code: 'delegation_refused',
        reason: 'message_mismatch',
        send: async () => {
          const original = request();
          const token = await mint(original, encode(original));
          const altered = { ...original, payload: { echo: 'altered by the broker' } };
          publish(encode(altered), token);
          return altered;
        },
      },
      {
        name: 'no token at all',
        code: 'delegation_refused',
        reason: 'missing',
        send: () => {
          const envelope = request();
          publish(encode(envelope), undefined);
          return Promise.resolve(envelope);
        },
      },
    ];
    for (const c of cases) {
      const envelope = await c.send();
      const reply = await replyTo(envelope.id);
      expect({ case: c.name, ok: reply.ok, code: reply.ok ? undefined : reply.error.code }).toEqual(
        {
          case: c.name,
          ok: false,
          code: c.code,
        },
      );
    }
    // A forged state-changing request changes nothing on the node.
    const workspaceId = randomUUID();
    const provision = request({
      method: 'workspace.provision',
      payload: { workspaceId, tenantId: node.tenantId, name: 'forged' },
    });
    const provisionBody = encode(provision);
    const real = await mint(
      provision,
      provisionBody,
      principal({ permissions: ['workspaces.create'] }),
    );
    const [h, p] = real.split('.') as [string, string, string];
    publish(provisionBody, `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`);
    expect(await replyTo(provision.id)).toMatchObject({
      ok: false,
      error: { code: 'delegation_refused' },
    });
    expect(existsSync(join(stack.stateDirOf(node.id), 'workspaces', workspaceId))).toBe(false);

    const audit = await readNodeAudit(stack.stateDirOf(node.id));
    const refused = audit
      .filter((e) => e.code === 'delegation.refused')
      .map((e) => e.fields.reason);
    for (const c of cases) expect(refused).toContain(c.reason);
    expect(await nodeAuditIntact(stack.stateDirOf(node.id))).toBe(true);
  });

  it('refuses a key set not signed by the pinned CA, so a forged key never gains trust', async () => {
    const rogue = await generateSigningKeyPair();
    const rogueKey = loadSigningPrivateKey(rogue.privateKeyPem);
    const rogueKid = signingKeyId(rogueKey);
    const genuine = await keys().keySet();
    const set = JSON.parse(genuine.document) as {
      version: number;
      keys: Array<Record<string, unknown>>;
    };
    const jwk = createPublicKey(rogueKey).export({ format: 'jwk' });
    set.version += 1;
    set.keys.push({
      kid: rogueKid,
      status: 'active',
      jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
    });
    const forgedSet = request({
      method: 'trust.update',
      payload: { document: JSON.stringify(set), signature: genuine.signature },
    });
    publish(encode(forgedSet), undefined);
    expect(await replyTo(forgedSet.id)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // A token signed by the rogue key is still refused: its kid is unknown to the node.
    const minter = new DelegationMinter({
      issuer: keys().issuer,
      ttlSeconds: 30,
      activeKey: () => ({ kid: rogueKid, privateKey: rogueKey }),
    });
    const envelope = request();
    const body = encode(envelope);
    publish(body, await mint(envelope, body, principal(), minter));
    expect(await replyTo(envelope.id)).toMatchObject({
      ok: false,
      error: { code: 'delegation_key_unknown' },
    });
    const audit = await readNodeAudit(stack.stateDirOf(node.id));
    expect(
      audit.some((e) => e.code === 'trust.keys_refused' && e.fields.messageId === forgedSet.id),
    ).toBe(true);
  });

  it('refuses a replayed request without answering it, and audits the replay', async () => {
    const envelope = request({ payload: { echo: 'once' } });
    const body = encode(envelope);
    const token = await mint(envelope, body);
    publish(body, token);
    expect(await replyTo(envelope.id)).toMatchObject({ ok: true });
    replies.delete(envelope.id);
    publish(body, token);
    const entry = await eventually(
      async () =>
        (await readNodeAudit(stack.stateDirOf(node.id))).find(
          (e) => e.fields.reason === 'replayed' && e.fields.messageId === envelope.id,
        ),
      { timeoutMs: 10_000, what: 'the replay in the audit trail' },
    );
    expect(entry.fields).toMatchObject({ subject: 'user:mallory', method: 'ping' });
    expect(replies.has(envelope.id)).toBe(false);
  });

  it("applies the node's own rules to genuine delegations: tenant and permission", async () => {
    const otherTenant = request();
    const b1 = encode(otherTenant);
    publish(b1, await mint(otherTenant, b1, principal({ tenantId: randomUUID() })));
    const noPermission = request();
    const b2 = encode(noPermission);
    publish(b2, await mint(noPermission, b2, principal({ permissions: ['workspaces.read'] })));
    for (const envelope of [otherTenant, noPermission]) {
      expect(await replyTo(envelope.id)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    const denied = (await readNodeAudit(stack.stateDirOf(node.id))).filter(
      (e) => e.code === 'access.denied',
    );
    expect(denied.map((e) => e.fields.messageId)).toEqual(
      expect.arrayContaining([otherTenant.id, noPermission.id]),
    );
  });

  it('ignores replies and heartbeats not signed by the node, and trusts the genuine ones', async () => {
    const stateDir = stack.stateDirOf(node.id);
    await Promise.all(stack.nodes.map((n) => n.stop()));
    await waitStatus(stack, node.id, 'offline');
    const nodeSigner = new MessageSigner(
      loadSigningPrivateKey(readFileSync(join(stateDir, 'signing.key'), 'utf8')),
    );
    const rogue = await generateSigningKeyPair();
    const rogueSigner = new MessageSigner(loadSigningPrivateKey(rogue.privateKeyPem));
    expect(rogueSigner.keyId).not.toBe(nodeSigner.keyId);

    // A request from the control plane to the stopped node; the "broker" answers it.
    const client = stack.app.get(BridgeClient);
    const pending = client.request(
      node.id,
      'ping',
      { echo: 'genuine' },
      { requestId: `forged-reply-${randomUUID()}`, timeoutMs: 8000, principal: principal() },
    );
    const msg = await eventually(
      async () =>
        (await channel.get(stack.topology.nodeRpcQueue(node.id), { noAck: true })) || undefined,
      { timeoutMs: 5000, what: 'the request in the node queue' },
    );
    const sent = JSON.parse(msg.content.toString('utf8')) as RequestEnvelope;
    const answer = (echo: string): Buffer =>
      encode({
        v: ENVELOPE_VERSION,
        type: 'reply',
        id: randomUUID(),
        inReplyTo: sent.id,
        requestId: sent.requestId,
        nodeId: node.id,
        sentAt: new Date().toISOString(),
        ok: true,
        result: { pong: true, nodeId: node.id, echo, at: new Date().toISOString() },
      } satisfies ReplyEnvelope);
    const exchange = stack.topology.nodeExchange(node.id);
    const forged = answer('forged');
    channel.publish(exchange, sent.replyTo, forged, { headers: rogueSigner.headers(forged) });
    channel.publish(exchange, sent.replyTo, answer('unsigned'));
    await new Promise((r) => setTimeout(r, 500));
    const real = answer('genuine');
    channel.publish(exchange, sent.replyTo, real, { headers: nodeSigner.headers(real) });
    expect(await pending).toMatchObject({ echo: 'genuine' });

    // Heartbeats: a forged one cannot make the stopped node look alive; a genuine one can.
    const beat = (): Buffer =>
      encode({
        v: ENVELOPE_VERSION,
        type: 'heartbeat',
        nodeId: node.id,
        state: 'up',
        sentAt: new Date().toISOString(),
        startedAt: new Date().toISOString(),
        version: '0.1.0',
        hostname: 'forged',
        intervalMs: HEARTBEAT_MS,
      });
    for (let i = 0; i < 5; i += 1) {
      const b = beat();
      channel.publish(exchange, 'heartbeat', b, { headers: rogueSigner.headers(b) });
      await new Promise((r) => setTimeout(r, OFFLINE_AFTER_MS / 5));
    }
    expect((await stack.http().get(`/api/v1/nodes/${node.id}`).expect(200)).body).toMatchObject({
      status: 'offline',
    });
    const genuine = beat();
    channel.publish(exchange, 'heartbeat', genuine, { headers: nodeSigner.headers(genuine) });
    await waitStatus(stack, node.id, 'online');
  });

  it('a node that missed an announcement gets the keys when it answers "unknown key", and nothing fails', async () => {
    await Promise.all(stack.nodes.map((n) => n.stop()));
    stack.startNode(node.id);
    await waitStatus(stack, node.id, 'online');
    // Let the key set sent on its return land first: this test is about a later rotation.
    await new Promise((r) => setTimeout(r, 1000));
    // A rotation whose announcement never reached the node (another instance, a lost push).
    await keys().prepareRotation();
    const { kid, keySet } = await keys().activateNext();
    const version = (JSON.parse(keySet.document) as { version: number }).version;
    // A request: refused with "unknown key", answered after the key set is sent.
    await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({ echo: 'retried' }).expect(200);
    // A command through the outbox: refused the same way, sent again, applied.
    await keys().prepareRotation();
    await keys().activateNext();
    const created = await stack
      .http()
      .post('/api/v1/tenants/acme/workspaces')
      .send({ name: 'after-silent-rotation', node: node.id })
      .expect(202);
    await eventually(
      async () =>
        (await stack.http().get(`/api/v1/tenants/acme/workspaces/${created.body.id}`).expect(200))
          .body.state === 'ready',
      { timeoutMs: 20_000, what: 'the workspace provisioned after the key set was sent' },
    );
    const audit = await readNodeAudit(stack.stateDirOf(node.id));
    const unknown = audit.filter((e) => e.fields.reason === 'unknown_key');
    expect(unknown.map((e) => e.fields.method)).toEqual(
      expect.arrayContaining(['ping', 'workspace.provision']),
    );
    expect(unknown.some((e) => e.fields.kid === kid)).toBe(true);
    expect(
      audit.some((e) => e.code === 'trust.keys_updated' && Number(e.fields.version) >= version),
    ).toBe(true);
  });

  it('a node that missed a key rotation while offline gets the keys as soon as it is back', async () => {
    await Promise.all(stack.nodes.map((n) => n.stop()));
    await waitStatus(stack, node.id, 'offline');
    const before = await keys().activeKey();
    const rotated = await stack.http().post('/api/v1/admin/signing-keys/rotate').expect(200);
    expect(rotated.body).toMatchObject({ retired: before.kid, nodesUpdated: 0 });
    expect(rotated.body.kid).not.toBe(before.kid);
    stack.startNode(node.id);
    await waitStatus(stack, node.id, 'online');
    // Pushed on its first heartbeat, before any request needs it.
    await eventually(
      async () =>
        (await readNodeAudit(stack.stateDirOf(node.id))).find(
          (e) => e.code === 'trust.keys_updated' && e.fields.version === rotated.body.version,
        ),
      { timeoutMs: 10_000, what: 'the rotated key set on the returning node' },
    );
    await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({ echo: 'after' }).expect(200);
    const list = await stack.http().get('/api/v1/admin/signing-keys').expect(200);
    expect(list.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kid: rotated.body.kid, status: 'active' }),
        expect.objectContaining({ kid: before.kid, status: 'retired', trusted: true }),
      ]),
    );
  });

  it('stops trusting a node whose certificate expired', async () => {
    await waitStatus(stack, node.id, 'online');
    // Time passes: the recorded certificate's end moves into the past.
    await stack.app
      .get(DataSource)
      .query(`UPDATE nodes SET cert_not_after = now() - interval '1 second' WHERE id = $1`, [
        node.id,
      ]);
    await waitStatus(stack, node.id, 'offline');
    const ping = await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({}).expect(503);
    expect(ping.body.code).toBe('node_unavailable');
  });
});
