import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { eventually, startS3Server, type S3Server, type ServiceProcess } from '@causeway/testing';
import { filesUnder } from './files-under';
import { Stack } from './harness';
import { tusUpload } from './tus-client';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface AuditItem {
  type: string;
  outcome: string;
  actor: string | null;
  reason: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/**
 * The whole file path with the node's S3 driver: a partner's tus upload through the control
 * plane and the bridge into an S3-compatible server (s3rver, started here; the node talks to it
 * with the minio client exactly as it would to MinIO or AWS), downloads back, what the bucket
 * holds, tampering in the bucket, and the audit trail of it all.
 */
describe('workspace files on S3 storage (real control plane, node, RabbitMQ, PostgreSQL, s3rver)', () => {
  let stack: Stack;
  let s3: S3Server;
  let ws: string;
  let nodeId: string;
  let node: ServiceProcess;
  let s3Env: Record<string, string>;
  let editor: { userId: string; cookie: string };
  let viewer: { userId: string; cookie: string };
  const data = randomBytes(3 * MiB + 4321);
  let fileId = '';

  beforeAll(async () => {
    s3 = await startS3Server({ bucket: 'causeway-files' });
    stack = await Stack.start();
    await stack.createTenant('acme');
    nodeId = (await stack.registerNode('acme', 'acme-s3-node')).id;
    s3Env = {
      CAUSEWAY_STORAGE_DRIVER: 's3',
      CAUSEWAY_S3_ENDPOINT: s3.url,
      CAUSEWAY_S3_REGION: s3.region,
      CAUSEWAY_S3_BUCKET: s3.bucket,
      CAUSEWAY_S3_ACCESS_KEY: s3.accessKey,
      CAUSEWAY_S3_SECRET_KEY: s3.secretKey,
      CAUSEWAY_S3_PATH_STYLE: 'true',
    };
    node = stack.startNode(nodeId, s3Env);
    await stack.waitOnline(nodeId);
    ws = await stack.readyWorkspace('acme', 'shared', nodeId);
    editor = await stack.signedIn('acme', 'editor@partner.test', {
      role: 'partner-editor',
      kind: 'partner',
      workspaceId: ws,
    });
    viewer = await stack.signedIn('acme', 'viewer@partner.test', {
      role: 'partner-viewer',
      kind: 'partner',
      workspaceId: ws,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await s3?.stop();
  });

  async function content(cookie: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${stack.url}/api/v1/workspaces/${ws}/files/${fileId}/content`, {
      headers: { cookie, ...headers },
    });
    try {
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()), broken: false };
    } catch {
      // The control plane destroys a response whose stream failed after the headers.
      return { status: res.status, body: Buffer.alloc(0), broken: true };
    }
  }

  async function audit(type: string): Promise<AuditItem[]> {
    const res = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events')
      .query({ type, limit: 1000 })
      .expect(200);
    return (res.body as { items: AuditItem[] }).items;
  }

  it('stores a partner upload in the bucket and gives the same bytes back, whole and ranged', async () => {
    const outcome = await tusUpload(stack.url, ws, data, {
      cookie: editor.cookie,
      filename: 'contract.pdf',
    });
    expect(outcome.status).toBeUndefined();
    fileId = outcome.fileId ?? '';
    expect(fileId).toMatch(/^[0-9a-f-]{36}$/);

    const whole = await content(viewer.cookie);
    expect(whole.status).toBe(200);
    expect(sha256(whole.body)).toBe(sha256(data));

    // A range across the first part boundary (1 MiB PATCHes make 1 MiB parts).
    const start = MiB - 7;
    const end = MiB + 1000;
    const ranged = await content(viewer.cookie, { range: `bytes=${start}-${end}` });
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(data.subarray(start, end + 1))).toBe(true);

    // The objects are in the bucket, under the workspace's prefix.
    const stored = filesUnder(s3.directory).filter((f) => statSync(f).size >= MiB);
    expect(stored.length).toBeGreaterThanOrEqual(3);
  });

  it('leaves none of the plaintext in the bucket or in the node state', () => {
    // 48-byte windows at many offsets: any copy of the plaintext would contain them.
    const windows = Array.from({ length: 64 }, (_, i) => {
      const at = Math.floor((i * (data.length - 48)) / 63);
      return data.subarray(at, at + 48);
    });
    const inBucket = filesUnder(s3.directory);
    const inNodeState = filesUnder(stack.stateDirOf(nodeId));
    expect(inBucket.length).toBeGreaterThan(0);
    expect(inNodeState.length).toBeGreaterThan(0);
    const everything = [...inBucket, ...inNodeState];
    for (const file of everything) {
      const bytes = readFileSync(file);
      for (const window of windows) expect(bytes.includes(window)).toBe(false);
    }
  });

  it('records uploads and downloads in the audit trail with the partner, the address and the file', async () => {
    const [uploaded] = await audit('data.file.uploaded');
    expect(uploaded).toMatchObject({
      outcome: 'success',
      actor: `user:${editor.userId}`,
      details: expect.objectContaining({
        workspaceId: ws,
        fileId,
        name: 'contract.pdf',
        folder: '/',
        version: 1,
        bytes: data.length,
        sha256: sha256(data),
      }),
    });
    expect(uploaded?.ip).toMatch(/127\.0\.0\.1/);
    const downloads = await audit('data.file.downloaded');
    expect(downloads.map((d) => d.actor)).toEqual([
      `user:${viewer.userId}`,
      `user:${viewer.userId}`,
    ]);
    expect(downloads.map((d) => d.details['range']).sort()).toEqual([
      `${MiB - 7}-${MiB + 1000}`,
      null,
    ]);
  });

  it('refuses a tampered object in the bucket instead of serving it, and records the failure', async () => {
    // Flip one bit in the middle of the largest object s3rver holds.
    const [largest] = filesUnder(s3.directory)
      .map((f) => ({ f, size: statSync(f).size }))
      .sort((a, b) => b.size - a.size);
    const bytes = readFileSync(largest.f);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at] ^ 0x01;
    writeFileSync(largest.f, bytes);

    const whole = await content(viewer.cookie);
    // The headers may already be out: then the response is cut, never complete.
    expect(whole.broken || whole.status !== 200 || whole.body.length < data.length).toBe(true);
    expect(whole.body.equals(data)).toBe(false);

    const failures = await audit('data.file.download_failed');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]).toMatchObject({
      outcome: 'failure',
      actor: `user:${viewer.userId}`,
      details: expect.objectContaining({ fileId }),
    });
  });

  it('records renames and deletions, and deleting removes the objects from the bucket', async () => {
    await stack
      .anonymous()
      .patch(`/api/v1/workspaces/${ws}/files/${fileId}`)
      .set('Cookie', editor.cookie)
      .send({ name: 'contract-signed.pdf' })
      .expect(200);
    await stack
      .anonymous()
      .delete(`/api/v1/workspaces/${ws}/files/${fileId}`)
      .set('Cookie', editor.cookie)
      .expect(204);
    const [renamed] = await audit('data.file.renamed');
    expect(renamed?.details).toMatchObject({
      fileId,
      from: 'contract.pdf',
      name: 'contract-signed.pdf',
    });
    const [deleted] = await audit('data.file.deleted');
    expect(deleted).toMatchObject({
      actor: `user:${editor.userId}`,
      details: expect.objectContaining({ fileId, name: 'contract-signed.pdf', versions: 1 }),
    });
    expect(filesUnder(s3.directory).filter((f) => statSync(f).size >= MiB)).toEqual([]);
  });

  it('resumes an upload interrupted by a node restart, with the same bytes', async () => {
    const big = randomBytes(3 * MiB + 999);
    const first = await tusUpload(stack.url, ws, big, {
      cookie: editor.cookie,
      filename: 'resumed.bin',
      abortAfterFirstChunk: true,
    });
    expect(first.url).toEqual(expect.any(String));

    await node.stop();
    await stack.waitOffline(nodeId);
    node = stack.startNode(nodeId, s3Env);
    await stack.waitOnline(nodeId);

    // A node that has just come back may answer 503 for a moment while its consumers start
    // (as a tus client would, ask again); the offset must then be what was stored.
    const head = await eventually(
      async () => {
        const res = await fetch(new URL(first.url!, stack.url), {
          method: 'HEAD',
          headers: { cookie: editor.cookie, 'Tus-Resumable': '1.0.0' },
        });
        return res.status === 503 ? undefined : res;
      },
      { timeoutMs: 15_000, what: 'the upload answering after the node restart' },
    );
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('upload-offset'))).toBe(MiB);

    const resumed = await tusUpload(stack.url, ws, big, {
      cookie: editor.cookie,
      filename: 'resumed.bin',
      uploadUrl: new URL(first.url!, stack.url).toString(),
    });
    expect(resumed.status).toBeUndefined();
    const res = await fetch(
      `${stack.url}/api/v1/workspaces/${ws}/files/${resumed.fileId}/content`,
      { headers: { cookie: viewer.cookie } },
    );
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(big));
  });
});
