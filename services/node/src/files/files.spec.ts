import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
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
  type SinkChunk,
  type SinkResume,
  type StreamSink,
} from '@causeway/bridge';
import type { BridgeMethod, MethodPayload, MethodResult, Principal } from '@causeway/contracts';
import { TEST_AMQP_URL, deleteBrokerObjects, uniqueSuffix } from '@causeway/testing';
import { NodeKeys } from '../keys';
import { NodeStore } from '../state/node-store';
import { LocalDiskStore } from '../storage';
import { WorkspacesHandlers } from '../workspaces/workspaces.handlers';
import { FilesService } from './files.service';

const logger = pino({ level: process.env.CAUSEWAY_TEST_LOG ?? 'silent' });
const MiB = 1024 * 1024;
const INSTANCE_ID = 'cp-files-test';
const MARKER = Buffer.from('CAUSEWAY-PLAINTEXT-MARKER|');

/** Recognisable plaintext: the marker repeated, with a counter so chunks differ. */
function plaintext(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0, n = 0; at < size; n++) {
    at += MARKER.copy(out, at);
    if (at < size) at += out.write(`${n % 1000}`.padStart(3, '0'), at);
  }
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Keeps what it receives, so a test can see exactly which bytes arrived. */
class MemorySink implements StreamSink {
  chunks: Buffer[] = [];
  open(): Promise<SinkResume> {
    return Promise.resolve({ size: 0 });
  }
  write(chunk: SinkChunk): Promise<void> {
    this.chunks = this.chunks.slice(0, chunk.index);
    this.chunks.push(Buffer.from(chunk.bytes));
    return Promise.resolve();
  }
  finish(): Promise<void> {
    return Promise.resolve();
  }
  abort(): Promise<void> {
    return Promise.resolve();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function* pieces(data: Buffer, failAfter?: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += 256 * 1024) {
    if (failAfter !== undefined && at >= failAfter) throw new Error('the HTTP request was aborted');
    yield Buffer.from(data.subarray(at, Math.min(data.length, at + 256 * 1024)));
  }
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('workspace files on the node', () => {
  let dir: string;
  let storeRoot: string;
  let bridge: BridgeTopology;
  let streams: StreamTopology;
  let nodeId: string;
  let tenantId: string;
  let workspaceId: string;
  let principal: Principal;
  let connections: AmqpConnectionManager[];
  let store: NodeStore;
  let keys: NodeKeys;
  let objects: LocalDiskStore;
  let files: FilesService;
  let handlers: HandlerMap;
  let workspaces: WorkspacesHandlers;
  let nodeReceiver: StreamReceiver;
  let nodeSender: StreamSender;
  let cpSender: StreamSender;
  let cpReceiver: StreamReceiver;

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

  /** Starts (or restarts) the node's side: database, keys, object store, service, streams. */
  async function startNode(): Promise<void> {
    store = NodeStore.open(dir);
    keys = await NodeKeys.open(store, {
      sealSecret: 'files test seal passphrase',
      sweepIntervalMs: 0,
    });
    objects = new LocalDiskStore(storeRoot);
    files = new FilesService(store, keys, objects);
    workspaces = new WorkspacesHandlers(store, keys, objects);
    const connection = connect('node');
    const side = { role: 'node' as const, nodeId };
    nodeReceiver = new StreamReceiver({ connection, topology: bridge, side, logger });
    nodeSender = new StreamSender({ connection, topology: bridge, side, logger });
    await nodeReceiver.start();
    await nodeSender.start();
    handlers = files.handlers({ receiver: nodeReceiver, sender: nodeSender });
  }

  async function stopNode(): Promise<void> {
    await nodeReceiver.close();
    await nodeSender.close();
    keys.close();
    store.close();
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

  async function sendPart(uploadId: string, offset: number, data: Buffer): Promise<void> {
    const streamId = randomUUID();
    await call('files.upload.part', { uploadId, offset, streamId, from: INSTANCE_ID });
    await cpSender.send({ streamId, to: nodeId, source: pieces(data) });
    await files.settled(uploadId);
  }

  async function upload(name: string, data: Buffer, cuts: number[], folder = '/docs') {
    const uploadId = randomUUID();
    await call('files.upload.start', {
      workspaceId,
      tenantId,
      uploadId,
      folder,
      name,
      size: data.length,
    });
    let at = 0;
    for (const end of [...cuts, data.length]) {
      await sendPart(uploadId, at, data.subarray(at, end));
      at = end;
    }
    return { uploadId, file: await call('files.upload.complete', { uploadId }) };
  }

  async function download(
    fileId: string,
    options: { version?: number; range?: { start: number; end: number } } = {},
  ): Promise<{ sink: MemorySink; outcome: Promise<unknown> }> {
    const streamId = randomUUID();
    const sink = new MemorySink();
    const outcome = cpReceiver.accept({ streamId, from: nodeId, sink, idleTimeoutMs: 10_000 });
    outcome.catch(() => undefined);
    await call('files.download', { workspaceId, fileId, ...options, streamId, to: INSTANCE_ID });
    return { sink, outcome };
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'causeway-files-'));
    storeRoot = join(dir, 'objects');
    bridge = new BridgeTopology(`fl-${uniqueSuffix()}`);
    streams = new StreamTopology(bridge);
    nodeId = randomUUID();
    tenantId = randomUUID();
    workspaceId = randomUUID();
    principal = {
      subject: 'user-1',
      tenantId,
      workspaceId,
      permissions: ['files.read', 'files.write'],
    };
    connections = [];
    const side = { role: 'control-plane' as const, instanceId: INSTANCE_ID };
    const cp = connect('cp');
    cpSender = new StreamSender({ connection: cp, topology: bridge, side, logger });
    cpReceiver = new StreamReceiver({ connection: cp, topology: bridge, side, logger });
    await cpSender.start();
    await cpReceiver.start();
    await startNode();
    await workspaces.handlers()['workspace.provision']!(
      { workspaceId, tenantId, name: 'Files' },
      context(),
    );
  });

  afterEach(async () => {
    await stopNode().catch(() => undefined);
    await cpSender.close();
    await cpReceiver.close();
    for (const c of connections) await c.close().catch(() => undefined);
    await deleteBrokerObjects(
      [
        bridge.nodeRpcQueue(nodeId),
        streams.nodeDataQueue(nodeId),
        streams.nodeControlQueue(nodeId),
        streams.controlPlaneDataQueue(INSTANCE_ID),
        streams.controlPlaneControlQueue(INSTANCE_ID),
      ],
      [bridge.nodeExchange(nodeId), bridge.inboundExchange],
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads in 3 parts, downloads byte-identical, and stores no plaintext', async () => {
    const data = plaintext(Math.round(4.3 * MiB));
    const { file } = await upload('report.txt', data, [
      Math.round(1.5 * MiB),
      Math.round(2.2 * MiB),
    ]);
    expect(file).toMatchObject({ name: 'report.txt', folder: '/docs', size: data.length });
    expect(file.sha256).toBe(sha(data));
    const { sink, outcome } = await download(file.fileId);
    await expect(outcome).resolves.toMatchObject({ size: data.length, sha256: sha(data) });
    expect(sink.bytes().equals(data)).toBe(true);

    const stored = allFiles(storeRoot);
    expect(stored).toHaveLength(3);
    // Anywhere in the node's state directory (database, keys, objects), not only the objects.
    for (const path of allFiles(dir)) {
      expect(readFileSync(path).includes(MARKER)).toBe(false);
      expect(readFileSync(path).includes(data.subarray(1000, 1016))).toBe(false);
    }
    expect(await call('files.list', { workspaceId, folder: '/docs' })).toEqual({
      items: [file],
      folders: [],
    });
  });

  it('drops a part whose stream is aborted half way, then resumes from received, across a restart', async () => {
    const data = plaintext(3 * MiB + 12345);
    const uploadId = randomUUID();
    await call('files.upload.start', {
      workspaceId,
      tenantId,
      uploadId,
      folder: '/',
      name: 'big.bin',
      size: data.length,
    });
    await sendPart(uploadId, 0, data.subarray(0, MiB + 7));

    const streamId = randomUUID();
    const offset = MiB + 7;
    await call('files.upload.part', { uploadId, offset, streamId, from: INSTANCE_ID });
    await expect(
      cpSender.send({
        streamId,
        to: nodeId,
        source: pieces(data.subarray(offset), MiB + 512 * 1024),
      }),
    ).rejects.toMatchObject({ code: 'source_failed' });
    await files.settled(uploadId);
    expect(await call('files.upload.status', { uploadId })).toEqual({
      received: offset,
      size: data.length,
      complete: false,
    });
    await expect(
      call('files.upload.part', { uploadId, offset: 0, streamId: randomUUID(), from: INSTANCE_ID }),
    ).rejects.toMatchObject({ code: 'conflict' });

    // The node restarts between parts: the committed offset survives.
    await stopNode();
    await startNode();
    const { received } = await call('files.upload.start', {
      workspaceId,
      tenantId,
      uploadId,
      folder: '/',
      name: 'big.bin',
      size: data.length,
    });
    expect(received).toBe(offset);
    await sendPart(uploadId, received, data.subarray(received, 2 * MiB + 99));
    await sendPart(uploadId, 2 * MiB + 99, data.subarray(2 * MiB + 99));
    const file = await call('files.upload.complete', { uploadId });
    expect(await call('files.upload.complete', { uploadId })).toEqual(file);
    expect(file.sha256).toBe(sha(data));
    const { sink, outcome } = await download(file.fileId);
    await outcome;
    expect(sink.bytes().equals(data)).toBe(true);
  });

  it('completes from the running SHA-256, without reading the file back', async () => {
    const data = plaintext(Math.round(3.3 * MiB));
    const uploadId = randomUUID();
    await call('files.upload.start', {
      workspaceId,
      tenantId,
      uploadId,
      folder: '/',
      name: 'hashed.bin',
      size: data.length,
    });
    await sendPart(uploadId, 0, data.subarray(0, MiB + 3));
    await sendPart(uploadId, MiB + 3, data.subarray(MiB + 3));
    const get = jest.spyOn(objects, 'get');
    const file = await call('files.upload.complete', { uploadId });
    expect(get).not.toHaveBeenCalled();
    get.mockRestore();
    expect(file.sha256).toBe(sha(data));
    const { sink, outcome } = await download(file.fileId);
    await expect(outcome).resolves.toMatchObject({ sha256: sha(data) });
    expect(sink.bytes().equals(data)).toBe(true);
  });

  it('after a restart between the last part and completion, hashes what it reads back', async () => {
    const data = plaintext(Math.round(2.6 * MiB));
    const uploadId = randomUUID();
    await call('files.upload.start', {
      workspaceId,
      tenantId,
      uploadId,
      folder: '/',
      name: 'restarted.bin',
      size: data.length,
    });
    await sendPart(uploadId, 0, data.subarray(0, MiB));
    await sendPart(uploadId, MiB, data.subarray(MiB));
    await stopNode();
    await startNode();
    const get = jest.spyOn(objects, 'get');
    const file = await call('files.upload.complete', { uploadId });
    expect(get).toHaveBeenCalledTimes(2);
    get.mockRestore();
    expect(file.sha256).toBe(sha(data));
  });

  it('leaves no object of a part that was not committed, also across a restart', async () => {
    const data = plaintext(3 * MiB);
    const uploadId = randomUUID();
    await call('files.upload.start', {
      workspaceId,
      tenantId,
      uploadId,
      folder: '/',
      name: 'orphans.bin',
      size: data.length,
    });
    await sendPart(uploadId, 0, data.subarray(0, MiB));
    const streamId = randomUUID();
    await call('files.upload.part', { uploadId, offset: MiB, streamId, from: INSTANCE_ID });
    await expect(
      cpSender.send({ streamId, to: nodeId, source: pieces(data.subarray(MiB), MiB) }),
    ).rejects.toMatchObject({ code: 'source_failed' });
    await files.settled(uploadId);
    expect(await objects.list(`${workspaceId}/${uploadId}/`)).toEqual([
      `${workspaceId}/${uploadId}/0`,
    ]);

    // The node stopped after the store finished part 1 but before it was committed.
    const orphan = `${workspaceId}/${uploadId}/1`;
    await objects.put(orphan, Readable.from([Buffer.from('ciphertext of an uncommitted part')]));
    await stopNode();
    await startNode();
    expect(await files.dropUncommittedParts()).toBe(1);
    expect(await objects.list(`${workspaceId}/${uploadId}/`)).toEqual([
      `${workspaceId}/${uploadId}/0`,
    ]);
    await sendPart(uploadId, MiB, data.subarray(MiB));
    const file = await call('files.upload.complete', { uploadId });
    expect(file.sha256).toBe(sha(data));
  });

  it('never sends the final chunk of a file that does not match its stored SHA-256', async () => {
    const data = plaintext(Math.round(2.5 * MiB));
    const { file } = await upload('mismatch.bin', data, []);
    store.db
      .prepare('UPDATE file_versions SET sha256 = ? WHERE file_id = ?')
      .run(sha(Buffer.from('something else')), file.fileId);
    const { sink, outcome } = await download(file.fileId);
    await expect(outcome).rejects.toBeDefined();
    expect(sink.bytes().length).toBeLessThan(data.length);
  });

  it('serves ranges inside a chunk, across chunks and parts, and the last byte', async () => {
    const data = randomBytes(Math.round(3.7 * MiB));
    const { file } = await upload('r.bin', data, [Math.round(1.2 * MiB), Math.round(2.9 * MiB)]);
    const ranges = [
      { start: 10, end: 20 },
      { start: MiB - 5, end: MiB + 5 },
      { start: Math.round(1.2 * MiB) - 3, end: Math.round(1.2 * MiB) + 3 },
      { start: 1000, end: data.length - 1000 },
      { start: data.length - 1, end: data.length - 1 },
    ];
    for (const range of ranges) {
      const { sink, outcome } = await download(file.fileId, { range });
      await outcome;
      expect(sink.bytes().equals(data.subarray(range.start, range.end + 1))).toBe(true);
    }
    await expect(
      download(file.fileId, { range: { start: 0, end: data.length } }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it.each(['flip', 'swap', 'truncate'] as const)(
    'refuses a stored object with a %s and sends nothing unverified',
    async (damage) => {
      const data = plaintext(Math.round(4.5 * MiB));
      const { file } = await upload('t.bin', data, [Math.round(2.5 * MiB)]);
      const path = allFiles(storeRoot).find(
        (p) => statSync(p).size > 2.4 * MiB && p.includes('/0'),
      );
      expect(path).toBeDefined();
      const bytes = readFileSync(path!);
      const record = MiB + 28;
      if (damage === 'flip') bytes[12 + record + 100] ^= 1;
      if (damage === 'swap') {
        const a = Buffer.from(bytes.subarray(12, 12 + record));
        bytes.copy(bytes, 12, 12 + record, 12 + 2 * record);
        a.copy(bytes, 12 + record);
      }
      writeFileSync(path!, damage === 'truncate' ? bytes.subarray(0, bytes.length - 100) : bytes);
      const { sink, outcome } = await download(file.fileId);
      await expect(outcome).rejects.toBeDefined();
      const got = sink.bytes();
      expect(got.length).toBeLessThan(data.length);
      expect(got.equals(data.subarray(0, got.length))).toBe(true);
    },
  );

  it('renames, moves, versions and deletes', async () => {
    const v1 = plaintext(300_000);
    const v2 = plaintext(500_000).reverse();
    const { file } = await upload('a.txt', v1, []);
    const { file: second } = await upload('a.txt', v2, [100_000]);
    expect(second).toMatchObject({ fileId: file.fileId, version: 2, sha256: sha(v2) });
    const { versions } = await call('files.versions', { workspaceId, fileId: file.fileId });
    expect(versions.map((v) => [v.version, v.sha256])).toEqual([
      [1, sha(v1)],
      [2, sha(v2)],
    ]);
    const old = await download(file.fileId, { version: 1 });
    await old.outcome;
    expect(old.sink.bytes().equals(v1)).toBe(true);

    const renamed = await call('files.rename', { workspaceId, fileId: file.fileId, name: 'b.txt' });
    expect(renamed.name).toBe('b.txt');
    const moved = await call('files.move', { workspaceId, fileId: file.fileId, folder: '/x/y' });
    expect(moved).toMatchObject({ folder: '/x/y', name: 'b.txt' });
    expect(await call('files.list', { workspaceId, folder: '/docs' })).toEqual({
      items: [],
      folders: [],
    });
    await upload('b.txt', v1, [], '/other');
    await expect(
      call('files.move', { workspaceId, fileId: file.fileId, folder: '/other' }),
    ).rejects.toMatchObject({ code: 'conflict' });

    const objectCount = allFiles(storeRoot).length;
    expect(await call('files.delete', { workspaceId, fileId: file.fileId })).toEqual({
      fileId: file.fileId,
      versionsDeleted: 2,
    });
    expect(allFiles(storeRoot)).toHaveLength(objectCount - 3);
    await expect(call('files.stat', { workspaceId, fileId: file.fileId })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('lists the folders directly inside a folder, from the paths of its files', async () => {
    const bytes = plaintext(1000);
    await upload('one.txt', bytes, [], '/tree/a');
    await upload('two.txt', bytes, [], '/tree/a/deep/er');
    await upload('three.txt', bytes, [], '/tree/b_%');
    await upload('four.txt', bytes, [], '/tree');
    await upload('five.txt', bytes, [], '/treehouse');
    const tree = await call('files.list', { workspaceId, folder: '/tree' });
    expect(tree.items.map((f) => f.name)).toEqual(['four.txt']);
    expect(tree.folders).toEqual([
      { name: 'a', path: '/tree/a' },
      { name: 'b_%', path: '/tree/b_%' },
    ]);
    expect((await call('files.list', { workspaceId, folder: '/tree/a' })).folders).toEqual([
      { name: 'deep', path: '/tree/a/deep' },
    ]);
    // `_` and `%` are plain characters here, not patterns.
    expect((await call('files.list', { workspaceId, folder: '/tree/b_%' })).folders).toEqual([]);
    const root = (await call('files.list', { workspaceId, folder: '/' })).folders.map(
      (f) => f.name,
    );
    expect(root).toEqual(expect.arrayContaining(['tree', 'treehouse']));
  });

  it('refuses bad names, folders, sizes and a full quota, and other tenants', async () => {
    const start = (name: string, folder = '/', size = 10) =>
      call('files.upload.start', {
        workspaceId,
        tenantId,
        uploadId: randomUUID(),
        folder,
        name,
        size,
      });
    for (const name of ['../x', 'a/b', 'x'.repeat(10_000), '..', 'a\\b', 'a\u0000b', 'e\u0301']) {
      await expect(start(name)).rejects.toMatchObject({ code: 'validation_failed' });
    }
    for (const folder of ['/a/', '/a//b', '/../x', 'a']) {
      await expect(start('ok', folder)).rejects.toMatchObject({ code: 'validation_failed' });
    }
    await expect(start('ok', '/', -1)).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(start('ok', '/', 2 ** 40 + 1)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    store.db.prepare('UPDATE workspaces SET quota_bytes = 1000 WHERE id = ?').run(workspaceId);
    await expect(start('ok', '/', 600)).resolves.toMatchObject({ received: 0 });
    await expect(start('ok2', '/', 600)).rejects.toMatchObject({ code: 'payload_too_large' });

    const { file } = await upload('mine.txt', plaintext(100), []);
    const other = { ...principal, tenantId: randomUUID(), workspaceId: undefined };
    await expect(
      call('files.stat', { workspaceId, fileId: file.fileId }, other),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it("makes a file's objects undecryptable after workspace.delete", async () => {
    const { file } = await upload('gone.txt', plaintext(200_000), []);
    const objectId = store.db
      .prepare('SELECT object_id FROM file_parts WHERE file_id = ?')
      .pluck()
      .get(file.fileId) as string;
    const copy = readFileSync(allFiles(storeRoot)[0]);
    await workspaces.handlers()['workspace.delete']!({ workspaceId, tenantId }, context());
    await expect(keys.dataKeys.dataKeyFor(objectId)).rejects.toMatchObject({
      code: 'key_destroyed',
    });
    expect(copy.length).toBeGreaterThan(0);
    expect(allFiles(storeRoot)).toHaveLength(0);
    await expect(call('files.stat', { workspaceId, fileId: file.fileId })).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
