import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renewalProofMessage } from '@causeway/contracts';
import { createCsr, generateKeyPair, generateSigningKeyPair, signPayload } from '@causeway/crypto';
import { eventually, readNodeAudit } from '@causeway/testing';
import type { NodeView } from '../src/nodes/nodes.dto';
import { Stack } from './harness';

async function nodeView(stack: Stack, id: string): Promise<NodeView> {
  return (await stack.http().get(`/api/v1/nodes/${id}`).expect(200)).body as NodeView;
}

async function auditCodes(stateDir: string): Promise<string[]> {
  return (await readNodeAudit(stateDir)).map((e) => e.code);
}

describe('rotation while requests flow (real control plane, broker and node process)', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Certificates valid 5 minutes, renewed by the node once less than 296 s are left: the
    // node renews its certificate and signing key about every 4 seconds during the test.
    stack = await Stack.start({ CAUSEWAY_NODE_CERT_VALIDITY_SECONDS: '300' });
    await stack.createTenant('acme');
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('renews the node certificate and rotates the signing key twice without failing a request', async () => {
    const node = await stack.registerNode('acme', 'rotating-node');
    stack.startNode(node.id, {
      CAUSEWAY_CERT_RENEW_BEFORE_SECONDS: '296',
      CAUSEWAY_CERT_CHECK_INTERVAL_MS: '250',
    });
    const first = await eventually(
      async () => {
        const view = await nodeView(stack, node.id);
        return view.status === 'online' ? view : undefined;
      },
      { timeoutMs: 20_000, what: 'node online' },
    );
    const serials = new Set([first.certificate?.serial]);
    const kids = new Set<string>();
    const listKeys = async () =>
      (await stack.http().get('/api/v1/admin/signing-keys').expect(200)).body as {
        items: Array<{ kid: string; status: string }>;
      };
    const activeKid = async () => (await listKeys()).items.find((k) => k.status === 'active')?.kid;
    kids.add((await activeKid()) ?? '');

    let stop = false;
    const outcomes: Array<{ status: number; code?: string }> = [];
    const worker = async (w: number) => {
      for (let i = 0; !stop; i += 1) {
        const res = await stack
          .http()
          .post(`/api/v1/nodes/${node.id}/ping`)
          .send({ echo: `${w}-${i}` });
        outcomes.push({ status: res.status, code: (res.body as { code?: string }).code });
        if (res.status === 200) expect(res.body).toMatchObject({ echo: `${w}-${i}` });
      }
    };
    const watcher = async () => {
      while (!stop) {
        const view = await nodeView(stack, node.id);
        if (view.certificate) serials.add(view.certificate.serial);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const workers = [0, 1, 2, 3, 4, 5].map((w) => worker(w));
    const watching = watcher();
    const rotations: unknown[] = [];
    try {
      for (let round = 0; round < 2; round += 1) {
        await new Promise((r) => setTimeout(r, 3000));
        const rotated = await stack.http().post('/api/v1/admin/signing-keys/rotate');
        rotations.push(rotated.body);
        if (rotated.status === 200) kids.add(rotated.body.kid as string);
      }
      // Keep the traffic going until the node renewed its certificate at least twice.
      await eventually(() => serials.size >= 3, {
        timeoutMs: 30_000,
        what: 'two certificate renewals',
      });
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      // Whatever failed above, the traffic stops, so the next suite starts clean.
      stop = true;
      await Promise.allSettled([...workers, watching]);
    }
    expect(rotations).toEqual([
      expect.objectContaining({ nodesUpdated: 1, nodesMissed: 0 }),
      expect.objectContaining({ nodesUpdated: 1, nodesMissed: 0 }),
    ]);

    const failed = outcomes.filter((o) => o.status !== 200);
    expect(failed).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(100);
    expect(kids.size).toBe(3);
    expect(serials.size).toBeGreaterThanOrEqual(3);
    const codes = await auditCodes(stack.stateDirOf(node.id));
    expect(codes.filter((c) => c === 'certificate.renewed').length).toBeGreaterThanOrEqual(2);
    expect(codes.filter((c) => c === 'trust.keys_updated').length).toBeGreaterThanOrEqual(2);
    expect(codes).not.toContain('delegation.refused');
  });

  it('recovers: the node proves with the key the control plane recorded, not the old one', async () => {
    const node = await stack.registerNode('acme', 'lost-answer-node');
    const dir = stack.stateDirOf(node.id);
    // What the node does before asking: new keys written as pending...
    const certificateKeys = await generateKeyPair();
    const signingKeys = await generateSigningKeyPair();
    writeFileSync(join(dir, 'node.key.next'), certificateKeys.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'signing.key.next'), signingKeys.privateKeyPem, { mode: 0o600 });
    // ...then the request, proven with the current key. The control plane records it, and the
    // answer never reaches the node (a time-out, a cut connection).
    const csr = createCsr({ privateKeyPem: certificateKeys.privateKeyPem, commonName: node.id });
    const at = new Date().toISOString();
    const proof = signPayload(
      readFileSync(join(dir, 'node.key'), 'utf8'),
      Buffer.from(
        renewalProofMessage({ nodeId: node.id, at, csr, signingKey: signingKeys.publicKeyPem }),
        'utf8',
      ),
    ).toString('base64');
    await stack
      .anonymous()
      .post(`/api/v1/nodes/${node.id}/certificate`)
      .send({ csr, signingKey: signingKeys.publicKeyPem, at, proof })
      .expect(200);
    const recorded = (await nodeView(stack, node.id)).certificate?.serial;

    // The node starts with its old certificate on disk and renews at once.
    stack.startNode(node.id, {
      CAUSEWAY_CERT_RENEW_BEFORE_SECONDS: '299',
      CAUSEWAY_CERT_CHECK_INTERVAL_MS: '250',
    });
    const renewed = await eventually(
      async () => {
        const view = await nodeView(stack, node.id);
        const serial = view.certificate?.serial;
        return view.status === 'online' && serial !== recorded ? view : undefined;
      },
      { timeoutMs: 30_000, what: 'a renewal after the lost answer' },
    );
    expect(renewed.certificate?.renewedAt).not.toBeNull();
    await stack.http().post(`/api/v1/nodes/${node.id}/ping`).send({ echo: 'ok' }).expect(200);
    const codes = await auditCodes(dir);
    expect(codes).toContain('certificate.renewed');
    expect(codes).not.toContain('certificate.renewal_failed');
  });
});
