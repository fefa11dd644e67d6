import { randomUUID } from 'node:crypto';
import { ENVELOPE_VERSION } from '@causeway/contracts';
import { eventually, rawAmqp, type ServiceProcess } from '@causeway/testing';
import type { NodeView } from '../src/nodes/nodes.dto';
import { HEARTBEAT_MS, OFFLINE_AFTER_MS, Stack } from './harness';

async function nodeStatus(stack: Stack, id: string): Promise<NodeView> {
  const res = await stack.http().get(`/api/v1/nodes/${id}`).expect(200);
  return res.body as NodeView;
}

async function waitOnline(stack: Stack, id: string): Promise<NodeView> {
  return eventually(
    async () => {
      const view = await nodeStatus(stack, id);
      return view.status === 'online' ? view : undefined;
    },
    { timeoutMs: 15_000, what: `node ${id} online` },
  );
}

describe('HTTP → bridge → node and back (real PostgreSQL, RabbitMQ, node process)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
  });

  afterAll(async () => {
    await stack?.close();
  });

  describe('with a running node', () => {
    let node: NodeView;
    let proc: ServiceProcess;

    beforeAll(async () => {
      node = await stack.registerNode('acme', 'node-1');
      proc = stack.startNode(node.id);
      await waitOnline(stack, node.id);
    });

    it('answers a ping sent through the HTTP API, echoing the payload', async () => {
      const res = await stack
        .http()
        .post(`/api/v1/nodes/${node.id}/ping`)
        .send({ echo: 'hello' })
        .expect(200);
      expect(res.body).toMatchObject({ pong: true, nodeId: node.id, echo: 'hello' });
      expect(typeof res.body.roundTripMs).toBe('number');
    });

    it('answers node.info with the version and runtime of the node process', async () => {
      const res = await stack.http().get(`/api/v1/nodes/${node.id}/info`).expect(200);
      expect(res.body).toMatchObject({ nodeId: node.id, version: '0.1.0' });
      expect(res.body.runtime).toMatch(/^node v\d+/);
    });

    it('carries the HTTP request id through the bridge into the node logs', async () => {
      const requestId = `trace-${randomUUID()}`;
      const res = await stack
        .http()
        .post(`/api/v1/nodes/${node.id}/ping`)
        .set('X-Request-Id', requestId)
        .send({})
        .expect(200);
      expect(res.headers['x-request-id']).toBe(requestId);
      const line = await eventually(
        () =>
          proc.logs().find((l) => l.requestId === requestId && l.msg === 'bridge request answered'),
        { timeoutMs: 5000, what: 'node log line with the request id' },
      );
      expect(line).toMatchObject({ method: 'ping', nodeId: node.id });
      expect(stack.logs.some((l) => l.includes(requestId))).toBe(true);
    });

    it('lists the node as online with its last heartbeat and version', async () => {
      const res = await stack.http().get('/api/v1/nodes').expect(200);
      const listed = (res.body.items as NodeView[]).find((n) => n.id === node.id);
      expect(listed).toMatchObject({
        status: 'online',
        state: 'up',
        version: '0.1.0',
        name: 'node-1',
      });
      expect(Date.parse(listed?.lastHeartbeatAt ?? '')).not.toBeNaN();
    });

    it('dead-letters malformed envelopes with their reason and keeps serving', async () => {
      const t = stack.topology;
      const connection = await rawAmqp();
      try {
        const channel = await connection.createConfirmChannel();
        const marker = randomUUID();
        const bad = [
          { body: Buffer.from(`not json ${marker}`), reason: 'invalid_json' },
          {
            body: Buffer.from(JSON.stringify({ v: 99, type: 'request', marker })),
            reason: 'invalid_envelope',
          },
          {
            body: Buffer.from(
              JSON.stringify({
                v: ENVELOPE_VERSION,
                type: 'request',
                id: randomUUID(),
                requestId: marker,
                method: 'ping',
                deadline: Date.now() + 60_000,
                sentAt: new Date().toISOString(),
                // A reply route pointing at the heartbeat queue must not be followed.
                replyTo: 'heartbeat',
                payload: {},
              }),
            ),
            reason: 'invalid_envelope',
          },
        ];
        for (const b of bad)
          channel.sendToQueue(t.nodeRpcQueue(node.id), b.body, { persistent: true });
        await channel.waitForConfirms();

        // The control plane records every dead letter; read them back through the admin API.
        type Listed = {
          id: string;
          reason: string;
          detail: string;
          nodeId: string;
          sourceQueue: string;
        };
        const mine = await eventually(
          async () => {
            const res = await stack
              .http()
              .get(`/api/v1/admin/dead-letters?node=${node.id}`)
              .expect(200);
            const items = res.body.items as Listed[];
            const details = await Promise.all(
              items.map(
                async (i) =>
                  (await stack.http().get(`/api/v1/admin/dead-letters/${i.id}`)).body as Listed & {
                    body: { data: string };
                  },
              ),
            );
            const withMarker = details.filter((d) => d.body.data.includes(marker));
            return withMarker.length === bad.length ? withMarker : undefined;
          },
          { timeoutMs: 10_000, what: 'three dead letters recorded' },
        );
        for (const d of mine) {
          expect(d.nodeId).toBe(node.id);
          expect(d.sourceQueue).toBe(t.nodeRpcQueue(node.id));
          expect(d.detail.length).toBeGreaterThan(10);
        }
        expect(mine.map((d) => d.reason).sort()).toEqual(bad.map((b) => b.reason).sort());
        await channel.close();
      } finally {
        await connection.close();
      }
      const res = await stack
        .http()
        .post(`/api/v1/nodes/${node.id}/ping`)
        .send({ echo: 'still here' })
        .expect(200);
      expect(res.body.echo).toBe('still here');
    });
  });

  it('turns a killed node offline within the heartbeat window, then answers 503 node_unavailable', async () => {
    const node = await stack.registerNode('acme', 'node-killed');
    const proc = stack.startNode(node.id);
    await waitOnline(stack, node.id);
    proc.kill('SIGKILL');
    await proc.exited;

    // Until the window passes the node still looks online: a request waits for its timeout
    // and then fails cleanly instead of hanging.
    const early = await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({});
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ code: 'node_unavailable' });
    expect(typeof early.body.requestId).toBe('string');

    const offline = await eventually(
      async () => {
        const view = await nodeStatus(stack, node.id);
        return view.status === 'offline' ? view : undefined;
      },
      { timeoutMs: OFFLINE_AFTER_MS + 4 * HEARTBEAT_MS + 2000, what: 'node offline' },
    );
    expect(offline.state).toBe('up');

    const res = await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({}).expect(503);
    expect(res.body.code).toBe('node_unavailable');
    expect(res.body.message).toMatch(/offline/);
  });

  it('shows a node stopped with SIGTERM offline at once (it says it is stopping)', async () => {
    const node = await stack.registerNode('acme', 'node-stopped');
    const proc = stack.startNode(node.id);
    await waitOnline(stack, node.id);
    proc.kill('SIGTERM');
    await proc.exited;
    const view = await eventually(
      async () => {
        const v = await nodeStatus(stack, node.id);
        return v.state === 'stopping' ? v : undefined;
      },
      { timeoutMs: 5000, what: 'stopping state recorded' },
    );
    expect(view.status).toBe('offline');
  });

  it("keeps one tenant's nodes out of another tenant's listing", async () => {
    await stack.createTenant('globex');
    const theirs = await stack.registerNode('globex', 'globex-node');
    const acme = await stack.http().get('/api/v1/nodes?tenant=acme').expect(200);
    expect((acme.body.items as NodeView[]).map((n) => n.id)).not.toContain(theirs.id);
    const globex = await stack.http().get('/api/v1/nodes?tenant=globex').expect(200);
    expect((globex.body.items as NodeView[]).map((n) => n.id)).toEqual([theirs.id]);
  });

  it('answers 404 not_found for an unknown node and 400 for a malformed id or body', async () => {
    const missing = await stack
      .http()
      .post(`/api/v1/nodes/${randomUUID()}/ping`)
      .send({})
      .expect(404);
    expect(missing.body.code).toBe('not_found');
    const badId = await stack.http().get('/api/v1/nodes/not-a-uuid').expect(400);
    expect(badId.body).toMatchObject({ code: 'validation_failed' });
    const badBody = await stack
      .http()
      .post(`/api/v1/nodes/${randomUUID()}/ping`)
      .set('Content-Type', 'application/json')
      .send('{"echo":')
      .expect(400);
    expect(badBody.body.code).toBe('validation_failed');
    expect(badBody.body.requestId).toMatch(/[0-9a-f-]{36}/);
  });
});
