import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import pino from 'pino';
import {
  BridgeTopology,
  StreamReceiver,
  StreamSender,
  StreamTopology,
  createBridgeConnection,
  type HandlerContext,
  type HandlerMap,
} from '@causeway/bridge';
import type { BridgeMethod, MethodPayload, MethodResult, Principal } from '@causeway/contracts';
import { TEST_AMQP_URL, deleteBrokerObjects, uniqueSuffix } from '@causeway/testing';
import { NodeKeys } from '../keys';
import { NodeStore } from '../state/node-store';
import { LocalDiskStore } from '../storage';
import { WorkspacesHandlers } from '../workspaces/workspaces.handlers';
import { FilesRepository } from './files.repository';
import { FilesService } from './files.service';
import { UploadLifecycle } from './upload-lifecycle';

const logger = pino({ level: process.env.CAUSEWAY_TEST_LOG ?? 'silent' });
const KiB = 1024;
const INSTANCE_ID = 'cp-lifecycle-test';

async function* pieces(data: Buffer, gate?: Promise<void>): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += 64 * KiB) {
    if (gate && at > 0) await gate;
    yield Buffer.from(data.subarray(at, Math.min(data.length, at + 64 * KiB)));
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/**
 * The end of uploads that do not become files, on the node: termination, the expiry sweep (with
 * an injected clock) and the workspace quota; against real SQLite, keys, disk and RabbitMQ.
 */
describe('upload lifecycle on the node', () => {
  let dir: string;
  let storeRoot: string;
  let bridge: BridgeTopology;
  let nodeId: string;
  let tenantId: string;
  let workspaceId: string;
  let principal: Principal;
  let connections: AmqpConnectionManager[];
  let store: NodeStore;
  let keys: NodeKeys;
  let files: FilesService;
  let handlers: HandlerMap;
  let nodeReceiver: StreamReceiver;
  let nodeSender: StreamSender;
  let cpSender: StreamSender;
  /** The sweep's clock. */
  let clockNow: Date;
  let lifecycle: UploadLifecycle;

  function connect(name: string): AmqpConnectionManager {
    const connection = createBridgeConnection({
      url: TEST_AMQP_URL,
      connectionName: name,
      logger,
      reconnectSeconds: 0.2,
    });
    connections.push(connection);
    return connection;
  }

  function context(who: Principal = principal): HandlerContext {
    return {
      requestId: randomUUID(),
      messageId: randomUUID(),
      deadline: Date.now() + 30_000,
      logger,
      principal: who,
    };
  }

  function call<M extends BridgeMethod>(
    method: M,
    payload: MethodPayload<M>,
    who?: Principal,
  ): Promise<MethodResult<M>> {
    const handler = handlers[method];
    if (!handler) throw new Error(`no handler for ${method}`);
    return handler(payload, context(who));
  }

  async function start(name: string, size: number): Promise<string> {
    const uploadId = randomUUID();
    await call('files.upload.start', { workspaceId, tenantId, uploadId, folder: '/', name, size });
    return uploadId;
  }

  async function sendPart(uploadId: string, offset: number, data: Buffer): Promise<void> {
    const streamId = randomUUID();
    await call('files.upload.part', { uploadId, offset, streamId, from: INSTANCE_ID });
    await cpSender.send({ streamId, to: nodeId, source: pieces(data) });
    await files.settled(uploadId);
  }

  /** Everything the node holds for an upload: rows, data keys, objects, staged files. */
  function traces(uploadId: string) {
    const db = store.db;
    return {
      upload: db.prepare('SELECT COUNT(*) AS n FROM uploads WHERE id = ?').get(uploadId),
      parts: db.prepare('SELECT COUNT(*) AS n FROM file_parts WHERE file_id = ?').get(uploadId),
      keys: db
        .prepare('SELECT COUNT(*) AS n FROM data_keys WHERE object_id LIKE ?')
        .get(`${workspaceId}/${uploadId}/%`),
      objects: filesUnder(join(storeRoot, workspaceId, uploadId)).length,
      staged: filesUnder(join(dir, 'staging', 'files')).filter((f) => f.includes(uploadId)).length,
    };
  }
  const nothing = { upload: { n: 0 }, parts: { n: 0 }, keys: { n: 0 }, objects: 0, staged: 0 };

  function usedBytes(): number {
    return new FilesRepository(store).usedBytes(workspaceId);
  }

  const admin = (): Principal => ({
    subject: 'admin-1',
    tenantId,
    workspaceId,
    permissions: ['workspaces.manage'],
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-lifecycle-'));
    storeRoot = join(dir, 'objects');
    bridge = new BridgeTopology(`ul-${uniqueSuffix()}`);
    nodeId = randomUUID();
    tenantId = randomUUID();
    workspaceId = randomUUID();
    principal = { subject: 'user-1', tenantId, workspaceId, permissions: ['files.write'] };
    connections = [];
    cpSender = new StreamSender({
      connection: connect('cp'),
      topology: bridge,
      side: { role: 'control-plane', instanceId: INSTANCE_ID },
      logger,
    });
    await cpSender.start();
    store = NodeStore.open(dir);
    keys = await NodeKeys.open(store, {
      sealSecret: 'lifecycle test passphrase',
      sweepIntervalMs: 0,
    });
    const objects = new LocalDiskStore(storeRoot);
    files = new FilesService(store, keys, objects);
    clockNow = new Date();
    lifecycle = new UploadLifecycle(store, keys, objects, {
      sweepIntervalMs: 0,
      now: () => clockNow,
      logger,
    });
    const connection = connect('node');
    const side = { role: 'node' as const, nodeId };
    nodeReceiver = new StreamReceiver({ connection, topology: bridge, side, logger });
    nodeSender = new StreamSender({ connection, topology: bridge, side, logger });
    await nodeReceiver.start();
    await nodeSender.start();
    const workspaces = new WorkspacesHandlers(store, keys, objects);
    handlers = {
      ...workspaces.handlers(),
      ...files.handlers({ receiver: nodeReceiver, sender: nodeSender }),
      ...lifecycle.handlers(),
    };
    await call('workspace.provision', { workspaceId, tenantId, name: 'Lifecycle' });
  });

  afterEach(async () => {
    await lifecycle.close();
    await nodeReceiver.close();
    await nodeSender.close();
    await cpSender.close();
    keys.close();
    store.close();
    for (const c of connections) await c.close().catch(() => undefined);
    const streams = new StreamTopology(bridge);
    await deleteBrokerObjects(
      [
        streams.nodeDataQueue(nodeId),
        streams.nodeControlQueue(nodeId),
        streams.controlPlaneDataQueue(INSTANCE_ID),
        streams.controlPlaneControlQueue(INSTANCE_ID),
      ],
      [bridge.nodeExchange(nodeId), bridge.inboundExchange],
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('terminates an unfinished upload: keys, objects and rows gone, quota released, idempotent', async () => {
    const data = randomBytes(700 * KiB);
    const uploadId = await start('cancelled.bin', data.length);
    await sendPart(uploadId, 0, data.subarray(0, 300 * KiB));
    await sendPart(uploadId, 300 * KiB, data.subarray(300 * KiB, 500 * KiB));
    expect(traces(uploadId)).toMatchObject({ parts: { n: 2 }, keys: { n: 2 }, objects: 2 });
    expect(usedBytes()).toBe(data.length);

    await expect(call('files.upload.abort', { uploadId })).resolves.toEqual({
      uploadId,
      dropped: true,
    });
    expect(traces(uploadId)).toEqual(nothing);
    expect(usedBytes()).toBe(0);
    await expect(call('files.upload.status', { uploadId })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(
      call('files.upload.part', {
        uploadId,
        offset: 500 * KiB,
        streamId: randomUUID(),
        from: INSTANCE_ID,
      }),
    ).rejects.toMatchObject({ code: 'not_found' });
    // Again: nothing left to drop, and no error.
    await expect(call('files.upload.abort', { uploadId })).resolves.toEqual({
      uploadId,
      dropped: false,
    });
  });

  it('drops a part still in progress when its upload is terminated', async () => {
    const data = randomBytes(400 * KiB);
    const uploadId = await start('half.bin', data.length);
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const streamId = randomUUID();
    await call('files.upload.part', { uploadId, offset: 0, streamId, from: INSTANCE_ID });
    const sending = cpSender.send({ streamId, to: nodeId, source: pieces(data, gate) });
    sending.catch(() => undefined);

    await expect(call('files.upload.abort', { uploadId })).resolves.toMatchObject({
      dropped: true,
    });
    open();
    await sending.catch(() => undefined);
    await files.settled(uploadId);
    expect(traces(uploadId)).toEqual(nothing);
  });

  it('refuses to terminate a finished upload: the file stays', async () => {
    const data = randomBytes(100 * KiB);
    const uploadId = await start('kept.bin', data.length);
    await sendPart(uploadId, 0, data);
    const file = await call('files.upload.complete', { uploadId });

    await expect(call('files.upload.abort', { uploadId })).rejects.toMatchObject({
      code: 'conflict',
      details: { reason: 'upload_complete', fileId: file.fileId },
    });
    await expect(
      call(
        'files.stat',
        { workspaceId, fileId: file.fileId },
        { ...principal, permissions: ['files.read'] },
      ),
    ).resolves.toEqual(file);
    // Another tenant learns nothing: the same answer as for an unknown upload.
    const stranger: Principal = { ...principal, tenantId: randomUUID(), workspaceId: randomUUID() };
    await expect(call('files.upload.abort', { uploadId }, stranger)).resolves.toEqual({
      uploadId,
      dropped: false,
    });
  });

  it("leaves another tenant's unfinished upload alone", async () => {
    const uploadId = await start('theirs.bin', 10 * KiB);
    await sendPart(uploadId, 0, randomBytes(5 * KiB));
    const stranger: Principal = { ...principal, tenantId: randomUUID(), workspaceId: randomUUID() };
    await expect(call('files.upload.abort', { uploadId }, stranger)).resolves.toEqual({
      uploadId,
      dropped: false,
    });
    expect(traces(uploadId)).toMatchObject({ upload: { n: 1 }, parts: { n: 1 }, keys: { n: 1 } });
  });

  it('sweeps an expired upload by the injected clock and keeps a fresh one', async () => {
    const fresh = await start('fresh.bin', 200 * KiB);
    const old = await start('old.bin', 200 * KiB);
    await sendPart(fresh, 0, randomBytes(100 * KiB));
    await sendPart(old, 0, randomBytes(100 * KiB));
    // The clock stands an hour before the fresh upload expires; the old one expired an hour ago.
    const { expires_at: freshExpiry } = store.db
      .prepare('SELECT expires_at FROM uploads WHERE id = ?')
      .get(fresh) as { expires_at: string };
    clockNow = new Date(Date.parse(freshExpiry) - 3_600_000);
    store.db
      .prepare('UPDATE uploads SET expires_at = ? WHERE id = ?')
      .run(new Date(clockNow.getTime() - 3_600_000).toISOString(), old);

    await expect(lifecycle.sweep()).resolves.toEqual({ expired: 1, orphaned: 0 });
    expect(traces(old)).toEqual(nothing);
    expect(traces(fresh)).toMatchObject({
      upload: { n: 1 },
      parts: { n: 1 },
      keys: { n: 1 },
      objects: 1,
    });
    await expect(lifecycle.sweep()).resolves.toEqual({ expired: 0, orphaned: 0 });

    // The fresh one goes on to become a file.
    await sendPart(fresh, 100 * KiB, randomBytes(100 * KiB));
    await expect(call('files.upload.complete', { uploadId: fresh })).resolves.toMatchObject({
      name: 'fresh.bin',
      size: 200 * KiB,
    });
  });

  it('finishes a termination interrupted after its upload row went', async () => {
    const uploadId = await start('interrupted.bin', 300 * KiB);
    await sendPart(uploadId, 0, randomBytes(100 * KiB));
    await sendPart(uploadId, 100 * KiB, randomBytes(100 * KiB));
    // As if the node stopped right after the fence: parts, keys and objects are left.
    store.db.prepare('DELETE FROM uploads WHERE id = ?').run(uploadId);
    expect(traces(uploadId)).toMatchObject({ parts: { n: 2 }, keys: { n: 2 }, objects: 2 });

    await expect(lifecycle.sweep()).resolves.toEqual({ expired: 0, orphaned: 1 });
    expect(traces(uploadId)).toEqual(nothing);
  });

  it('sets a quota: an upload over it is refused with nothing stored, one that fits is taken', async () => {
    const kept = randomBytes(40 * KiB);
    const first = await start('first.bin', kept.length);
    await sendPart(first, 0, kept);
    await call('files.upload.complete', { uploadId: first });

    await expect(
      call('workspace.quota.set', { workspaceId, tenantId, quotaBytes: 100 * KiB }, admin()),
    ).resolves.toEqual({ workspaceId, quotaBytes: 100 * KiB, usedBytes: 40 * KiB });

    const refusedId = randomUUID();
    await expect(
      call('files.upload.start', {
        workspaceId,
        tenantId,
        uploadId: refusedId,
        folder: '/',
        name: 'big.bin',
        size: 60 * KiB + 1,
      }),
    ).rejects.toMatchObject({
      code: 'payload_too_large',
      details: {
        reason: 'quota_exceeded',
        quotaBytes: 100 * KiB,
        usedBytes: 40 * KiB,
        size: 60 * KiB + 1,
      },
    });
    expect(traces(refusedId)).toEqual(nothing);

    const fits = await start('fits.bin', 60 * KiB);
    await sendPart(fits, 0, randomBytes(60 * KiB));
    await expect(call('files.upload.complete', { uploadId: fits })).resolves.toMatchObject({
      size: 60 * KiB,
    });
    expect(usedBytes()).toBe(100 * KiB);

    // Removing the quota lets anything in again.
    await expect(
      call('workspace.quota.set', { workspaceId, tenantId, quotaBytes: null }, admin()),
    ).resolves.toMatchObject({ quotaBytes: null });
    await start('more.bin', 1);
  });

  it("does not let another tenant or workspace set a workspace's quota", async () => {
    const otherTenant = randomUUID();
    await expect(
      call(
        'workspace.quota.set',
        { workspaceId, tenantId: otherTenant, quotaBytes: 1 },
        { ...admin(), tenantId: otherTenant },
      ),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      call(
        'workspace.quota.set',
        { workspaceId, tenantId, quotaBytes: 1 },
        { ...admin(), workspaceId: randomUUID() },
      ),
    ).rejects.toMatchObject({ code: 'not_found' });
    const row = store.db
      .prepare('SELECT quota_bytes AS q FROM workspaces WHERE id = ?')
      .get(workspaceId) as { q: number | null };
    expect(row.q).toBeNull();
  });
});
