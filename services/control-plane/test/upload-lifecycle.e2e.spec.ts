import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { eventually } from '@causeway/testing';
import { UploadHousekeeping } from '../src/files/upload-housekeeping';
import { PgUploadLocker } from '../src/files/upload-locker';
import { Stack } from './harness';

type Holder = 'owner' | 'member' | 'partner' | 'stranger';

const KiB = 1024;
const TUS = { 'Tus-Resumable': '1.0.0' };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * The upload lifecycle end to end (real control plane, node process, PostgreSQL, RabbitMQ):
 * tus termination, expiry, the workspace quota (set over the API, enforced by the node, 413 by
 * the error's bridge details) and one writer per upload across control-plane instances.
 */
describe('upload lifecycle (termination, expiry, quota, locking)', () => {
  let stack: Stack;
  let nodeId: string;
  let ws: string;
  const cookies: Record<Holder, string> = { owner: '', member: '', partner: '', stranger: '' };

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.createTenant('acme');
    await stack.createTenant('globex');
    nodeId = (await stack.registerNode('acme', 'acme-node')).id;
    stack.startNode(nodeId);
    await stack.waitOnline(nodeId);
    ws = await stack.readyWorkspace('acme', 'lifecycle', nodeId);
    cookies.owner = (await stack.signedIn('acme', 'owner@acme.test', { role: 'owner' })).cookie;
    cookies.member = (await stack.signedIn('acme', 'member@acme.test', { role: 'member' })).cookie;
    cookies.partner = (
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

  const uploadsUrl = () => `${stack.url}/api/v1/workspaces/${ws}/uploads`;

  async function create(size: number, filename: string, holder: Holder = 'member') {
    const res = await fetch(uploadsUrl(), {
      method: 'POST',
      headers: {
        ...TUS,
        cookie: cookies[holder],
        'Upload-Length': String(size),
        'Upload-Metadata': `filename ${b64(filename)}`,
      },
    });
    const location = res.headers.get('location');
    return {
      res,
      body: await res.text(),
      url: location ? new URL(location, stack.url).toString() : '',
      id: location?.split('/').pop() ?? '',
    };
  }

  async function patch(url: string, offset: number, bytes: Buffer, holder: Holder = 'member') {
    const res = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...TUS,
        cookie: cookies[holder],
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
      },
      body: new Uint8Array(bytes),
    });
    return { res, body: await res.text() };
  }

  const head = (url: string, holder: Holder = 'member') =>
    fetch(url, { method: 'HEAD', headers: { ...TUS, cookie: cookies[holder] } });
  const terminate = async (url: string, holder: Holder = 'member') => {
    const res = await fetch(url, {
      method: 'DELETE',
      headers: { ...TUS, cookie: cookies[holder] },
    });
    return { res, body: await res.text() };
  };

  function setQuota(quotaBytes: unknown, holder: Holder = 'owner', tenant = 'acme') {
    return stack
      .anonymous()
      .patch(`/api/v1/tenants/${tenant}/workspaces/${ws}`)
      .set('Cookie', cookies[holder])
      .send({ quotaBytes });
  }

  /** What the node holds for an upload: its rows, data keys and objects. */
  function onNode(uploadId: string) {
    const db = new Database(join(stack.stateDirOf(nodeId), 'node.db'), {
      readonly: true,
      fileMustExist: true,
    });
    try {
      const count = (sql: string, arg: string) => (db.prepare(sql).get(arg) as { n: number }).n;
      const dir = join(stack.stateDirOf(nodeId), 'objects', ws, uploadId);
      return {
        uploads: count('SELECT COUNT(*) AS n FROM uploads WHERE id = ?', uploadId),
        parts: count('SELECT COUNT(*) AS n FROM file_parts WHERE file_id = ?', uploadId),
        keys: count(
          'SELECT COUNT(*) AS n FROM data_keys WHERE object_id LIKE ?',
          `${ws}/${uploadId}/%`,
        ),
        objects: existsSync(dir) ? readdirSync(dir).length : 0,
      };
    } finally {
      db.close();
    }
  }
  const gone = { uploads: 0, parts: 0, keys: 0, objects: 0 };

  async function controlPlaneRows(uploadId: string): Promise<number> {
    const rows = await stack.app
      .get(DataSource)
      .query<unknown[]>('SELECT 1 FROM uploads WHERE id = $1', [uploadId]);
    return rows.length;
  }

  it('terminates an unfinished upload: gone on the node, HEAD 404, its quota released', async () => {
    const before = (await setQuota(64 * 1024 * KiB).expect(200)).body as { usedBytes: number };
    const data = randomBytes(600 * KiB);
    const upload = await create(data.length, 'cancel-me.bin');
    expect(upload.res.status).toBe(201);
    expect(upload.res.headers.get('upload-expires')).toBeTruthy();
    expect((await patch(upload.url, 0, data.subarray(0, 200 * KiB))).res.status).toBe(204);
    expect(
      (await patch(upload.url, 200 * KiB, data.subarray(200 * KiB, 300 * KiB))).res.status,
    ).toBe(204);
    expect(onNode(upload.id)).toEqual({ uploads: 1, parts: 2, keys: 2, objects: 2 });
    const reserved = (await setQuota(64 * 1024 * KiB).expect(200)).body as { usedBytes: number };
    expect(reserved.usedBytes).toBe(before.usedBytes + data.length);

    const cancelled = await terminate(upload.url);
    expect(cancelled.res.status).toBe(204);
    expect(onNode(upload.id)).toEqual(gone);
    expect(await controlPlaneRows(upload.id)).toBe(0);
    expect((await head(upload.url)).status).toBe(404);
    expect((await patch(upload.url, 300 * KiB, data.subarray(300 * KiB))).res.status).toBe(404);
    const after = (await setQuota(64 * 1024 * KiB).expect(200)).body as { usedBytes: number };
    expect(after.usedBytes).toBe(before.usedBytes);
    // Terminated already: nothing at that address any more.
    expect((await terminate(upload.url)).res.status).toBe(404);
    const events = await stack
      .http()
      .get(`/api/v1/tenants/acme/audit-events`)
      .query({ type: 'data.upload.cancelled' })
      .expect(200);
    expect(events.body.items).toEqual([
      expect.objectContaining({
        outcome: 'success',
        details: expect.objectContaining({
          uploadId: upload.id,
          name: 'cancel-me.bin',
          size: data.length,
          dropped: true,
        }),
      }),
    ]);
    await setQuota(null).expect(200);
  });

  it('refuses to terminate a finished upload: the file stays', async () => {
    const data = randomBytes(50 * KiB);
    const upload = await create(data.length, 'finished.bin');
    const sent = await patch(upload.url, 0, data);
    expect(sent.res.status).toBe(204);
    const fileId = sent.res.headers.get('upload-file-id');
    expect(fileId).toMatch(/^[0-9a-f-]{36}$/);

    const refused = await terminate(upload.url);
    expect(refused.res.status).toBe(409);
    expect(JSON.parse(refused.body)).toMatchObject({
      code: 'conflict',
      details: { reason: 'upload_complete', fileId },
    });
    const file = await fetch(`${stack.url}/api/v1/workspaces/${ws}/files/${fileId}`, {
      headers: { cookie: cookies.member },
    });
    expect(file.status).toBe(200);
  });

  it('sweeps expired upload records by the injected time, keeps fresh ones; tus answers 410', async () => {
    const db = stack.app.get(DataSource);
    const fresh = await create(10 * KiB, 'fresh.bin');
    const old = await create(10 * KiB, 'old.bin');
    const [{ expires_at: freshExpiry }] = await db.query<Array<{ expires_at: Date }>>(
      'SELECT expires_at FROM uploads WHERE id = $1',
      [fresh.id],
    );
    // The sweep runs at `at`, an hour before the fresh upload expires. The old upload was
    // created eight days ago: past its expiry, and tus says so.
    const at = new Date(freshExpiry.getTime() - 3_600_000);
    await db.query(
      `UPDATE uploads SET created_at = now() - interval '8 days',
         expires_at = now() - interval '1 day' WHERE id = $1`,
      [old.id],
    );
    expect((await head(old.url)).status).toBe(410);

    await expect(stack.app.get(UploadHousekeeping).sweep(at)).resolves.toBeGreaterThanOrEqual(1);
    expect(await controlPlaneRows(old.id)).toBe(0);
    expect(await controlPlaneRows(fresh.id)).toBe(1);
    expect((await head(old.url)).status).toBe(404);
    const kept = await head(fresh.url);
    expect(kept.status).toBe(200);
    expect(kept.headers.get('upload-offset')).toBe('0');
    expect((await terminate(fresh.url)).res.status).toBe(204);
  });

  describe('workspace quota', () => {
    it('is set by a tenant owner, shown with the workspace, and enforced with 413 quota_exceeded', async () => {
      const used = ((await setQuota(null).expect(200)).body as { usedBytes: number }).usedBytes;
      const quota = used + 100 * KiB;
      const set = await setQuota(quota).expect(200);
      expect(set.body).toMatchObject({ id: ws, quotaBytes: quota, usedBytes: used });
      const shown = await stack
        .anonymous()
        .get(`/api/v1/tenants/acme/workspaces/${ws}`)
        .set('Cookie', cookies.owner)
        .expect(200);
      expect(shown.body).toMatchObject({ quotaBytes: quota });

      const tooBig = await create(100 * KiB + 1, 'too-big.bin');
      expect(tooBig.res.status).toBe(413);
      const answer = JSON.parse(tooBig.body) as { code: string; message: string };
      expect(answer.code).toBe('quota_exceeded');
      expect(answer.message).toMatch(/does not fit in the workspace's storage quota/);
      expect(answer).toMatchObject({
        details: {
          reason: 'quota_exceeded',
          quotaBytes: quota,
          usedBytes: used,
          size: 100 * KiB + 1,
        },
      });
      expect(tooBig.url).toBe('');
      // Nothing was stored, on the control plane or on the node.
      expect(((await setQuota(quota).expect(200)).body as { usedBytes: number }).usedBytes).toBe(
        used,
      );
      const rows = await stack.app
        .get(DataSource)
        .query<unknown[]>(
          `SELECT 1 FROM uploads WHERE workspace_id = $1 AND name = 'too-big.bin'`,
          [ws],
        );
      expect(rows).toHaveLength(0);

      const data = randomBytes(100 * KiB);
      const fits = await create(data.length, 'fits.bin');
      expect(fits.res.status).toBe(201);
      const sent = await patch(fits.url, 0, data);
      expect(sent.res.status).toBe(204);
      expect(sent.res.headers.get('upload-file-id')).toMatch(/^[0-9a-f-]{36}$/);

      const full = await create(1, 'one-more-byte.bin');
      expect(full.res.status).toBe(413);
      await setQuota(null).expect(200);
      const events = await stack.app
        .get(DataSource)
        .query<unknown[]>(
          `SELECT 1 FROM audit_events WHERE type = 'admin.workspace.quota_changed'`,
        );
      expect(events.length).toBeGreaterThan(0);
    });

    it('cannot be set by a member or a partner, is 404 for another tenant, and checks its input', async () => {
      expect((await setQuota(1, 'member')).status).toBe(403);
      expect((await setQuota(1, 'partner')).status).toBe(403);
      const foreign = await setQuota(1, 'stranger', 'acme');
      expect(foreign.status).toBe(404);
      const elsewhere = await setQuota(1, 'stranger', 'globex');
      expect(elsewhere.status).toBe(404);
      expect((await setQuota(-1)).status).toBe(400);
      expect((await setQuota('lots')).status).toBe(400);
      const shown = await stack
        .anonymous()
        .get(`/api/v1/tenants/acme/workspaces/${ws}`)
        .set('Cookie', cookies.owner)
        .expect(200);
      expect(shown.body).toMatchObject({ quotaBytes: null });
    });
  });

  describe('one writer per upload across control-plane instances', () => {
    let pools: Pool[] = [];
    const lockerOf = (options: { acquireTimeoutMs?: number } = {}) => {
      const pool = new Pool({ connectionString: stack.config.databaseUrl, max: 4 });
      pools.push(pool);
      return new PgUploadLocker(pool, { retryMs: 20, ...options });
    };

    afterEach(async () => {
      for (const pool of pools) await pool.end();
      pools = [];
    });

    it('makes a second locker wait until the first lets go, asking it to finish', async () => {
      const id = '5f0c1a52-8d7e-4c1b-9b0e-0a3c2d4e5f60';
      const events: string[] = [];
      const first = lockerOf().newLock(id);
      let askedToRelease = (): void => undefined;
      const asked = new Promise<void>((resolve) => (askedToRelease = resolve));
      let wasAsked = false;
      await first.lock(new AbortController().signal, () => {
        if (wasAsked) return;
        wasAsked = true;
        events.push('first asked to release');
        askedToRelease();
      });
      events.push('first holds');

      const second = lockerOf().newLock(id);
      const acquired = second
        .lock(new AbortController().signal, () => undefined)
        .then(() => events.push('second holds'));
      await asked;
      expect(events).toEqual(['first holds', 'first asked to release']);

      events.push('first lets go');
      await first.unlock();
      await acquired;
      expect(events.slice(-2)).toEqual(['first lets go', 'second holds']);
      await second.unlock();
    });

    it('refuses a locker whose wait is over while another holds the upload', async () => {
      const id = '6a1d2b63-9e8f-4d2c-8c1f-1b4d3e5f6a71';
      const holder = lockerOf().newLock(id);
      await holder.lock(new AbortController().signal, () => undefined);
      const impatient = lockerOf({ acquireTimeoutMs: 0 }).newLock(id);
      await expect(
        impatient.lock(new AbortController().signal, () => undefined),
      ).rejects.toMatchObject({ code: 'conflict', details: { reason: 'upload_locked' } });
      await holder.unlock();
      await impatient.lock(new AbortController().signal, () => undefined);
      await impatient.unlock();
    });

    it('holds a PATCH while another instance writes the upload, then lets it through', async () => {
      const data = randomBytes(30 * KiB);
      const upload = await create(data.length, 'contended.bin');
      // Another control-plane instance is writing this upload: it holds the lock.
      const other = lockerOf().newLock(upload.id);
      let askedToRelease = (): void => undefined;
      const asked = new Promise<void>((resolve) => (askedToRelease = resolve));
      await other.lock(new AbortController().signal, () => askedToRelease());

      let answered = false;
      const sending = patch(upload.url, 0, data).then((outcome) => {
        answered = true;
        return outcome;
      });
      // This instance's PATCH has reached the lock and asked the other one to finish.
      await asked;
      expect(answered).toBe(false);
      expect(onNode(upload.id)).toMatchObject({ uploads: 1, parts: 0 });

      await other.unlock();
      const { res } = await sending;
      expect(res.status).toBe(204);
      expect(res.headers.get('upload-offset')).toBe(String(data.length));
      await eventually(async () => (await head(upload.url)).status === 200, {
        timeoutMs: 5000,
        what: 'the finished upload answers HEAD',
      });
    });
  });
});
