import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from './harness';
import { tusUpload, type TusOutcome } from './tus-client';

type Holder = 'editor' | 'viewer' | 'stranger';

interface FileView {
  fileId: string;
  folder: string;
  name: string;
  version: number;
  size: number;
  sha256: string;
}

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Workspace files end to end: tus uploads with tus-js-client relayed over bridge streams to a
 * real node process, downloads (whole and ranged) streamed back, metadata changes, and who may
 * do what.
 */
describe('workspace files (tus uploads, downloads; real control plane, node, PostgreSQL, RabbitMQ)', () => {
  let stack: Stack;
  let nodeId: string;
  let ws: string;
  const cookies: Record<Holder, string> = { editor: '', viewer: '', stranger: '' };

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    ws = await stack.readyWorkspace('acme', 'shared', nodeId);
    for (const [holder, role] of [
      ['editor', 'partner-editor'],
      ['viewer', 'partner-viewer'],
    ] as const) {
      const signed = await stack.signedIn('acme', `${holder}@partner.test`, {
        role,
        kind: 'partner',
        workspaceId: ws,
      });
      cookies[holder] = signed.cookie;
    }
    cookies.stranger = (
      await stack.signedIn('globex', 'owner@globex.test', { role: 'owner' })
    ).cookie;
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  function upload(
    data: Buffer,
    options: {
      holder: Holder;
      filename: string;
      folder?: string;
      uploadUrl?: string;
      abortAfterFirstChunk?: boolean;
    },
  ): Promise<TusOutcome> {
    const { holder, ...rest } = options;
    return tusUpload(stack.url, ws, data, { cookie: cookies[holder], ...rest });
  }

  async function get(path: string, holder: Holder, headers: Record<string, string> = {}) {
    const res = await fetch(`${stack.url}/api/v1/workspaces/${ws}${path}`, {
      headers: { cookie: cookies[holder], ...headers },
    });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  }

  async function list(folder = '/'): Promise<FileView[]> {
    const { res, body } = await get(`/files?folder=${encodeURIComponent(folder)}`, 'editor');
    expect(res.status).toBe(200);
    return (JSON.parse(body.toString('utf8')) as { items: FileView[] }).items;
  }

  const data = randomBytes(5 * MiB + 12_345);
  let fileId = '';

  it('uploads 5 MiB with tus-js-client in several PATCHes, lists it, downloads the same bytes', async () => {
    const outcome = await upload(data, { holder: 'editor', filename: 'report.bin' });
    expect(outcome.status).toBeUndefined();
    expect(outcome.fileId).toMatch(/^[0-9a-f-]{36}$/);
    fileId = outcome.fileId ?? '';

    const items = await list();
    expect(items).toEqual([
      expect.objectContaining({
        fileId,
        name: 'report.bin',
        folder: '/',
        version: 1,
        size: data.length,
        sha256: sha256(data),
      }),
    ]);

    const { res, body } = await get(`/files/${fileId}/content`, 'editor');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(data.length));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toContain('attachment; filename="report.bin"');
    expect(res.headers.get('etag')).toBe(`"${sha256(data)}"`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(sha256(body)).toBe(sha256(data));
  });

  it('answers a Range request with exactly those bytes (206), and 416 outside the file', async () => {
    const start = MiB - 10;
    const end = 2 * MiB + 99;
    const ranged = await get(`/files/${fileId}/content`, 'viewer', {
      range: `bytes=${start}-${end}`,
    });
    expect(ranged.res.status).toBe(206);
    expect(ranged.res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${data.length}`);
    expect(ranged.body.equals(data.subarray(start, end + 1))).toBe(true);

    const suffix = await get(`/files/${fileId}/content`, 'viewer', { range: 'bytes=-100' });
    expect(suffix.res.status).toBe(206);
    expect(suffix.body.equals(data.subarray(data.length - 100))).toBe(true);

    const outside = await get(`/files/${fileId}/content`, 'viewer', {
      range: `bytes=${data.length}-`,
    });
    expect(outside.res.status).toBe(416);
    expect(outside.res.headers.get('content-range')).toBe(`bytes */${data.length}`);
    expect(JSON.parse(outside.body.toString('utf8'))).toMatchObject({
      code: 'range_not_satisfiable',
    });
  });

  it('renames, moves, keeps versions of the same name, and deletes', async () => {
    const renamed = await stack
      .anonymous()
      .patch(`/api/v1/workspaces/${ws}/files/${fileId}`)
      .set('Cookie', cookies.editor)
      .send({ name: 'renamed.bin' })
      .expect(200);
    expect(renamed.body).toMatchObject({ fileId, name: 'renamed.bin', folder: '/' });
    const moved = await stack
      .anonymous()
      .patch(`/api/v1/workspaces/${ws}/files/${fileId}`)
      .set('Cookie', cookies.editor)
      .send({ folder: '/reports/2026' })
      .expect(200);
    expect(moved.body).toMatchObject({ fileId, name: 'renamed.bin', folder: '/reports/2026' });
    expect(await list()).toEqual([]);
    expect((await list('/reports/2026')).map((f) => f.fileId)).toEqual([fileId]);
    const root = await get('/files?folder=/', 'viewer');
    expect(JSON.parse(root.body.toString('utf8'))).toMatchObject({
      folders: [{ name: 'reports', path: '/reports' }],
    });

    const second = Buffer.from('version two, much shorter');
    const again = await upload(second, {
      holder: 'editor',
      filename: 'renamed.bin',
      folder: '/reports/2026',
    });
    expect(again.fileId).toBe(fileId);
    const versions = await stack
      .anonymous()
      .get(`/api/v1/workspaces/${ws}/files/${fileId}/versions`)
      .set('Cookie', cookies.viewer)
      .expect(200);
    expect(
      (versions.body.versions as Array<{ version: number; size: number }>).map((v) => [
        v.version,
        v.size,
      ]),
    ).toEqual([
      [1, data.length],
      [2, second.length],
    ]);
    const current = await get(`/files/${fileId}/content`, 'viewer');
    expect(current.body.equals(second)).toBe(true);
    const first = await get(`/files/${fileId}/content?version=1`, 'viewer');
    expect(sha256(first.body)).toBe(sha256(data));

    await stack
      .anonymous()
      .delete(`/api/v1/workspaces/${ws}/files/${fileId}`)
      .set('Cookie', cookies.editor)
      .expect(204);
    await stack
      .anonymous()
      .get(`/api/v1/workspaces/${ws}/files/${fileId}`)
      .set('Cookie', cookies.editor)
      .expect(404);
  });

  it('lets a partner-viewer download but not upload nor delete', async () => {
    const kept = await upload(Buffer.from('viewer may read this'), {
      holder: 'editor',
      filename: 'readme.txt',
    });
    const id = kept.fileId ?? '';
    const read = await get(`/files/${id}/content`, 'viewer');
    expect(read.res.status).toBe(200);
    expect(read.body.toString()).toBe('viewer may read this');

    const refused = await upload(Buffer.from('nope'), { holder: 'viewer', filename: 'x.txt' });
    expect(refused.status).toBe(403);
    const del = await stack
      .anonymous()
      .delete(`/api/v1/workspaces/${ws}/files/${id}`)
      .set('Cookie', cookies.viewer)
      .expect(403);
    expect(del.body.code).toBe('forbidden');
  });

  it("answers another tenant's user 404 everywhere", async () => {
    const [one] = await list();
    for (const path of ['/files', `/files/${one?.fileId}`, `/files/${one?.fileId}/content`]) {
      const { res } = await get(path, 'stranger');
      expect(res.status).toBe(404);
    }
    const refused = await upload(Buffer.from('nope'), { holder: 'stranger', filename: 'x.txt' });
    expect(refused.status).toBe(404);
  });

  it('resumes an interrupted upload from where the node stands, with the same bytes', async () => {
    const big = randomBytes(3 * MiB + 777);
    const first = await upload(big, {
      holder: 'editor',
      filename: 'resumed.bin',
      abortAfterFirstChunk: true,
    });
    expect(first.url).toEqual(expect.stringContaining('/uploads/'));
    const head = await fetch(new URL(first.url ?? '', stack.url), {
      method: 'HEAD',
      headers: { cookie: cookies.editor, 'Tus-Resumable': '1.0.0' },
    });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('upload-offset'))).toBe(MiB);

    const resumed = await upload(big, {
      holder: 'editor',
      filename: 'resumed.bin',
      uploadUrl: new URL(first.url ?? '', stack.url).toString(),
    });
    expect(resumed.status).toBeUndefined();
    const { body } = await get(`/files/${resumed.fileId}/content`, 'editor');
    expect(sha256(body)).toBe(sha256(big));
  });

  it('refuses a file name like ../x with a clear error', async () => {
    const refused = await upload(Buffer.from('escape'), { holder: 'editor', filename: '../x' });
    expect(refused.status).toBe(400);
    const body = JSON.parse(refused.body ?? '{}') as { code: string; message: string };
    expect(body.code).toBe('validation_failed');
    expect(body.message.length).toBeGreaterThan(10);
  });

  it("keeps none of the plaintext in the node's object storage", async () => {
    const marker = Buffer.concat([Buffer.from('CAUSEWAY-PLAINTEXT-MARKER-'), randomBytes(32)]);
    const plain = Buffer.concat([marker, randomBytes(MiB), marker]);
    const done = await upload(plain, { holder: 'editor', filename: 'secret.bin' });
    expect(done.fileId).toBeTruthy();
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(join(stack.stateDirOf(nodeId), 'objects'));
    expect(files.length).toBeGreaterThan(0);
    for (const path of files) {
      const stored = readFileSync(path);
      expect(stored.includes(marker)).toBe(false);
      expect(stored.includes(data.subarray(1000, 1064))).toBe(false);
      expect(stored.includes(plain.subarray(5000, 5064))).toBe(false);
    }
  });
});
