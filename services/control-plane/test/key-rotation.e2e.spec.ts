import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ServiceProcess, eventually } from '@causeway/testing';
import type { NodeView } from '../src/nodes/nodes.dto';
import { Stack } from './harness';
import { tusUpload } from './tus-client';

type Holder = 'admin' | 'auditor' | 'member' | 'editor' | 'stranger';

interface Job {
  jobId: string;
  workspaceId: string;
  state: string;
  keyVersion: number;
  rewrapped: number;
}

interface KeyStatus {
  activeVersion: number;
  createdAt: string;
  rotatedAt: string | null;
  retiringVersions: number[];
  rotationDays: number | null;
  policyRevision: number;
  nextRotationDueAt: string | null;
  jobs: Job[];
}

const MiB = 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;
/** Commands expire quickly here, so a node offline for a few seconds misses one for good. */
const COMMAND_TTL_MS = 4000;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Workspace master key rotation end to end: an admin rotates through the API, the real node
 * re-wraps the data keys of a partner's upload, and the partner still downloads the same bytes;
 * who may rotate; and the tenant's rotation period reaching the node, also one that was offline.
 */
describe('workspace key rotation (real control plane, node, PostgreSQL, RabbitMQ)', () => {
  let stack: Stack;
  let nodeId: string;
  let node: ServiceProcess;
  let ws: string;
  const cookies = {} as Record<Holder, string>;

  beforeAll(async () => {
    stack = await Stack.start({ CAUSEWAY_COMMAND_TTL_MS: String(COMMAND_TTL_MS) });
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    node = stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    ws = await stack.readyWorkspace('acme', 'shared', nodeId);
    cookies.admin = (await stack.signedIn('acme', 'admin@acme.test', { role: 'admin' })).cookie;
    cookies.auditor = (
      await stack.signedIn('acme', 'auditor@acme.test', { role: 'auditor' })
    ).cookie;
    cookies.member = (await stack.signedIn('acme', 'member@acme.test', { role: 'member' })).cookie;
    cookies.editor = (
      await stack.signedIn('acme', 'editor@partner.test', {
        role: 'partner-editor',
        kind: 'partner',
        workspaceId: ws,
      })
    ).cookie;
    cookies.stranger = (
      await stack.signedIn('globex', 'owner@globex.test', { role: 'owner' })
    ).cookie;
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  const keysPath = (tenant = 'acme', workspaceId = ws) =>
    `/api/v1/tenants/${tenant}/workspaces/${workspaceId}/keys`;

  function rotate(holder: Holder, tenant = 'acme', workspaceId = ws) {
    return stack
      .anonymous()
      .post(`${keysPath(tenant, workspaceId)}/rotate`)
      .set('Cookie', cookies[holder]);
  }

  async function status(holder: Holder = 'admin'): Promise<KeyStatus> {
    const res = await stack.anonymous().get(keysPath()).set('Cookie', cookies[holder]).expect(200);
    return res.body as KeyStatus;
  }

  /** Rotates as the admin and waits until the node finished the job's re-wrapping. */
  async function rotateAndWait(): Promise<{ job: Job; after: KeyStatus }> {
    const res = await rotate('admin').expect(202);
    const job = res.body as Job;
    expect(job).toMatchObject({ workspaceId: ws, jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const after = await eventually(
      async () => {
        const current = await status();
        const done = current.jobs.find((j) => j.jobId === job.jobId);
        return done?.state === 'done' ? current : undefined;
      },
      { timeoutMs: 30_000, what: `rotation job ${job.jobId} done` },
    );
    return { job, after };
  }

  async function download(fileId: string): Promise<Buffer> {
    const res = await fetch(`${stack.url}/api/v1/workspaces/${ws}/files/${fileId}/content`, {
      headers: { cookie: cookies.editor },
    });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  it("keeps a partner's upload byte-identical across two rotations of the workspace key", async () => {
    const data = randomBytes(3 * MiB + 4321);
    const uploaded = await tusUpload(stack.url, ws, data, {
      cookie: cookies.editor,
      filename: 'drawings.bin',
    });
    expect(uploaded.status).toBeUndefined();
    const fileId = uploaded.fileId ?? '';
    expect(fileId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await status()).activeVersion).toBe(1);

    const first = await rotateAndWait();
    expect(first.job.keyVersion).toBe(2);
    const firstJob = first.after.jobs.find((j) => j.jobId === first.job.jobId);
    // Every stored part of the upload had its data key re-wrapped under version 2.
    expect(firstJob?.rewrapped).toBeGreaterThan(0);
    expect(first.after).toMatchObject({ activeVersion: 2, retiringVersions: [] });
    expect(first.after.rotatedAt).not.toBeNull();
    expect(sha256(await download(fileId))).toBe(sha256(data));

    const second = await rotateAndWait();
    expect(second.job.keyVersion).toBe(3);
    const secondJob = second.after.jobs.find((j) => j.jobId === second.job.jobId);
    expect(secondJob?.rewrapped).toBe(firstJob?.rewrapped);
    expect(second.after).toMatchObject({ activeVersion: 3, retiringVersions: [] });
    const back = await download(fileId);
    expect(back.equals(data)).toBe(true);

    // A file uploaded after the rotations is written under the new key and reads back too.
    const later = randomBytes(MiB + 99);
    const laterUpload = await tusUpload(stack.url, ws, later, {
      cookie: cookies.editor,
      filename: 'later.bin',
    });
    expect((await download(laterUpload.fileId ?? '')).equals(later)).toBe(true);

    const audit = await stack
      .http()
      .get('/api/v1/tenants/acme/audit-events')
      .query({ type: 'admin.workspace.key_rotation_requested', limit: 100 })
      .expect(200);
    const jobIds = (audit.body as { items: Array<{ details: { jobId: string } }> }).items.map(
      (e) => e.details.jobId,
    );
    expect(jobIds).toEqual(expect.arrayContaining([first.job.jobId, second.job.jobId]));
  });

  it('lets owners and admins rotate, auditors read, and nobody else; another tenant gets 404', async () => {
    const versionBefore = (await status()).activeVersion;
    for (const holder of ['editor', 'member', 'auditor'] as const) {
      const res = await rotate(holder).expect(403);
      expect(res.body.code).toBe('forbidden');
    }
    expect((await status('auditor')).activeVersion).toBe(versionBefore);
    await stack.anonymous().get(keysPath()).set('Cookie', cookies.member).expect(403);
    await stack.anonymous().get(keysPath()).set('Cookie', cookies.editor).expect(403);

    // Globex's owner holds keys.rotate, but acme's workspace is not theirs to know of.
    await rotate('stranger').expect(404);
    await rotate('stranger', 'globex').expect(404);
    await stack.anonymous().get(keysPath('globex')).set('Cookie', cookies.stranger).expect(404);
    // Neither is a workspace named under another tenant by the platform operator.
    await stack
      .http()
      .post(`${keysPath('globex')}/rotate`)
      .expect(404);
    expect((await status()).activeVersion).toBe(versionBefore);
  });

  it('rotates and shows the status with the causeway CLI (from dist/)', async () => {
    async function causeway(...args: string[]) {
      const proc = new ServiceProcess(
        'services/control-plane/dist/admin-cli/main.js',
        { CAUSEWAY_TOKEN: stack.config.adminToken, CAUSEWAY_URL: stack.url },
        args,
      );
      const code = await proc.exited;
      return { code, out: proc.lines.join('\n') };
    }
    const before = (await status()).activeVersion;
    const rotated = await causeway(
      'keys',
      'rotate',
      '--tenant',
      'acme',
      '--workspace',
      ws,
      '--json',
    );
    expect(rotated.code).toBe(0);
    const job = JSON.parse(rotated.out) as Job;
    expect(job.keyVersion).toBe(before + 1);
    await eventually(
      async () => {
        const shown = await causeway('keys', 'status', '--tenant', 'acme', '--workspace', ws);
        return shown.code === 0 && new RegExp(`${job.jobId}\\s+done`).test(shown.out);
      },
      { timeoutMs: 30_000, what: 'the CLI showing the job done' },
    );
    const missing = await causeway('keys', 'rotate', '--tenant', 'acme');
    expect(missing.code).toBe(64);
  });

  async function nodeStatus(): Promise<string> {
    return ((await stack.http().get(`/api/v1/nodes/${nodeId}`)).body as NodeView).status;
  }

  it("brings the tenant's rotation period to the node, also to one that was offline", async () => {
    // A node gets the tenant's period (default 90 days) when it first comes online.
    const initial = await eventually(
      async () => {
        const s = await status();
        return s.rotationDays === 90 ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'default period on the node' },
    );

    await stack.http().patch('/api/v1/tenants/acme').send({ keyRotationDays: 30 }).expect(200);
    const thirty = await eventually(
      async () => {
        const s = await status('auditor');
        return s.rotationDays === 30 ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'period of 30 days on the node' },
    );
    expect(thirty.policyRevision).toBeGreaterThan(initial.policyRevision);
    // The node's scheduler rotates the active key 30 days after it was made.
    const active = thirty.rotatedAt ?? thirty.createdAt;
    expect(thirty.nextRotationDueAt).toBe(new Date(Date.parse(active) + 30 * DAY_MS).toISOString());

    // The node is down while the period changes, for longer than the command stays valid.
    await node.stop();
    await eventually(async () => (await nodeStatus()) !== 'online', {
      timeoutMs: 15_000,
      what: 'node offline',
    });
    await stack.http().patch('/api/v1/tenants/acme').send({ keyRotationDays: 7 }).expect(200);
    const db = stack.app.get(DataSource);
    await eventually(
      async () => {
        const rows = await db.query<Array<{ expired: boolean }>>(
          `SELECT deadline < now() AS expired FROM outbox
           WHERE method = 'keys.policy.set' AND (payload->>'rotationDays')::int = 7`,
        );
        return rows.length > 0 && rows.every((r) => r.expired);
      },
      { timeoutMs: COMMAND_TTL_MS * 4, what: 'the change command expired' },
    );

    node = stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    const seven = await eventually(
      async () => {
        const s = await status();
        return s.rotationDays === 7 ? s : undefined;
      },
      { timeoutMs: 20_000, what: 'period of 7 days on the returning node' },
    );
    expect(seven.policyRevision).toBeGreaterThan(thirty.policyRevision);
    // The keys survived the restart: same version, still readable (checked by the first test).
    expect(seven.activeVersion).toBe(thirty.activeVersion);
  });
});
