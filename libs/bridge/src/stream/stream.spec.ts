import { createCipheriv, createHash, randomBytes, randomUUID, type Hash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import pino from 'pino';
import {
  TEST_AMQP_URL,
  deleteBrokerObjects,
  eventually,
  rawAmqp,
  uniqueSuffix,
} from '@causeway/testing';
import { createBridgeConnection } from '../connection';
import { BridgeTopology } from '../topology';
import {
  STREAM_CHUNK_TYPE,
  StreamError,
  chunkHeaders,
  type StreamErrorCode,
  type StreamResult,
} from './protocol';
import { StreamReceiver, type SinkChunk, type SinkResume, type StreamSink } from './receiver';
import { StreamSender } from './sender';
import { StreamTopology, type StreamSide } from './topology';

const logger = pino({ level: process.env.CAUSEWAY_TEST_LOG ?? 'silent' });
const KiB = 1024;
const MiB = 1024 * KiB;
const INSTANCE_ID = 'cp-stream-test';

/** Deterministic pseudo-random bytes (AES-256-CTR keystream), so that a second reader of
 * the "same file" gets the same bytes without anyone holding them in memory. */
async function* seededBytes(seed: string, total: number, piece = 64 * KiB): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(piece);
  for (let sent = 0; sent < total; sent += piece) {
    yield cipher.update(zeros.subarray(0, Math.min(piece, total - sent)));
  }
}

async function sha256Of(source: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of source) hash.update(piece);
  return hash.digest('hex');
}

/** Fresh random bytes, hashed on the way out by `tap`. */
async function* randomSource(total: number, tap: Hash, piece = 64 * KiB): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += piece) {
    const bytes = randomBytes(Math.min(piece, total - sent));
    tap.update(bytes);
    yield bytes;
  }
}

/**
 * A sink that keeps only a running hash (so a 50 MiB stream is never held twice), or, with
 * `keep`, the bytes themselves so that a new receiver can resume from it. `gateAt` makes the
 * write of that chunk wait until `release()`; `delayMs` slows every write down.
 */
class TestSink implements StreamSink {
  private readonly hash = createHash('sha256');
  private chunks: Buffer[] = [];
  private gate: { index: number; open: () => void; opened: Promise<void> } | undefined;
  size = 0;
  writes = 0;
  blockedAt: number | undefined;
  finished: StreamResult | undefined;
  aborted: StreamError | undefined;

  constructor(
    private readonly options: { keep?: boolean; gateAt?: number; delayMs?: number } = {},
  ) {
    if (options.gateAt !== undefined) {
      let open = (): void => undefined;
      const opened = new Promise<void>((resolve) => (open = resolve));
      this.gate = { index: options.gateAt, open, opened };
    }
  }

  release(): void {
    this.gate?.open();
  }

  digest(): string {
    return this.options.keep
      ? createHash('sha256').update(Buffer.concat(this.chunks)).digest('hex')
      : this.hash.copy().digest('hex');
  }

  async open(): Promise<SinkResume> {
    const chunks = this.chunks;
    return {
      size: this.size,
      read: async function* () {
        yield* chunks;
      },
    };
  }

  async write(chunk: SinkChunk): Promise<void> {
    if (this.gate && chunk.index === this.gate.index) {
      this.blockedAt = chunk.index;
      await this.gate.opened;
    }
    if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
    if (chunk.offset !== (this.options.keep ? offsetOf(this.chunks, chunk.index) : this.size)) {
      throw new Error(`write at ${chunk.offset}, sink holds ${this.size}`);
    }
    if (this.options.keep) {
      // Replaces whatever was held from this chunk on, as the sink contract asks.
      this.chunks = this.chunks.slice(0, chunk.index);
      this.chunks.push(Buffer.from(chunk.bytes));
      this.size = chunk.offset + chunk.bytes.length;
    } else {
      this.hash.update(chunk.bytes);
      this.size += chunk.bytes.length;
    }
    this.writes++;
  }

  async finish(result: StreamResult): Promise<void> {
    this.finished = result;
  }

  async abort(error: StreamError): Promise<void> {
    this.aborted = error;
  }
}

function offsetOf(chunks: Buffer[], index: number): number {
  return chunks.slice(0, index).reduce((n, c) => n + c.length, 0);
}

async function expectStreamError(
  promise: Promise<unknown>,
  code: StreamErrorCode,
): Promise<StreamError> {
  const error: unknown = await promise.then(
    () => new Error('the stream completed; it should have failed'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamError);
  expect((error as StreamError).code).toBe(code);
  return error as StreamError;
}

/** Cuts the TCP connection under a connection manager, as a broker restart would. */
function dropConnection(manager: AmqpConnectionManager): void {
  const model = manager.connection as unknown as { connection: { stream: Socket } } | undefined;
  // With an error, as when the peer resets the connection; a bare destroy() would only be
  // noticed when heartbeats stop.
  model?.connection.stream.destroy(new Error('connection reset (test)'));
}

describe('bridge streams (real RabbitMQ)', () => {
  let bridge: BridgeTopology;
  let streams: StreamTopology;
  let nodeId: string;
  let cpSide: StreamSide;
  let nodeSide: StreamSide;
  let cleanups: Array<() => Promise<unknown>>;

  beforeEach(() => {
    bridge = new BridgeTopology(`st-${uniqueSuffix()}`);
    streams = new StreamTopology(bridge);
    nodeId = randomUUID();
    cpSide = { role: 'control-plane', instanceId: INSTANCE_ID };
    nodeSide = { role: 'node', nodeId };
    cleanups = [];
  });

  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
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
  });

  function connect(name: string): AmqpConnectionManager {
    const connection = createBridgeConnection({
      url: TEST_AMQP_URL,
      connectionName: name,
      logger,
      reconnectSeconds: 0.2,
    });
    cleanups.push(() => connection.close());
    return connection;
  }

  async function receiver(
    side: StreamSide,
    connection: AmqpConnectionManager,
    window?: number,
  ): Promise<StreamReceiver> {
    const r = new StreamReceiver({ connection, topology: bridge, side, logger, window });
    cleanups.push(() => r.close());
    await r.start();
    return r;
  }

  async function sender(
    side: StreamSide,
    connection: AmqpConnectionManager,
    maxWindow?: number,
  ): Promise<StreamSender> {
    const s = new StreamSender({ connection, topology: bridge, side, logger, maxWindow });
    cleanups.push(() => s.close());
    await s.start();
    return s;
  }

  it('carries 50 MiB of random bytes intact, with never more than the window in flight', async () => {
    const rx = await receiver(nodeSide, connect('node'));
    const tx = await sender(cpSide, connect('cp'));
    const streamId = randomUUID();
    const sink = new TestSink();
    const tap = createHash('sha256');
    const size = 50 * MiB;

    const received = rx.accept({ streamId, from: INSTANCE_ID, sink });
    // 64 KiB pieces from the source, re-cut into 1 MiB chunks.
    const sent = await tx.send({ streamId, to: nodeId, source: randomSource(size, tap) });
    const expected = tap.digest('hex');

    expect(sent).toEqual({ streamId, size, sha256: expected });
    await expect(received).resolves.toEqual(sent);
    expect(sink.digest()).toBe(expected);
    expect(sink.finished).toEqual(sent);
    expect(sink.writes).toBe(50);
    // Bounded memory: the default window is 16 chunks on both sides.
    expect(tx.stats.maxInFlight).toBeLessThanOrEqual(16);
    expect(tx.stats.maxRetained).toBeLessThanOrEqual(17);
    expect(rx.stats.maxBuffered).toBeLessThanOrEqual(16);
    expect(tx.stats.chunksPublished).toBeGreaterThanOrEqual(50);
  });

  it('streams from a node to the control plane through the node exchange', async () => {
    // The control-plane receiver declares the node's route and queues when it accepts.
    const rx = await receiver(cpSide, connect('cp'));
    const tx = await sender(nodeSide, connect('node'));
    const streamId = randomUUID();
    const sink = new TestSink();
    const size = 5 * MiB + 123;

    const received = rx.accept({ streamId, from: nodeId, sink });
    const sent = await tx.send({ streamId, to: INSTANCE_ID, source: seededBytes('up', size) });

    expect(sent.sha256).toBe(await sha256Of(seededBytes('up', size)));
    expect(sent.size).toBe(size);
    await expect(received).resolves.toEqual(sent);
    expect(sink.digest()).toBe(sent.sha256);
  });

  it('checks the source against an expected SHA-256 before the final chunk goes out', async () => {
    const rx = await receiver(cpSide, connect('cp'));
    const tx = await sender(nodeSide, connect('node'));
    const size = 3 * MiB + 5;
    const expected = await sha256Of(seededBytes('known', size));

    const goodId = randomUUID();
    const good = new TestSink();
    const received = rx.accept({ streamId: goodId, from: nodeId, sink: good });
    const sent = await tx.send({
      streamId: goodId,
      to: INSTANCE_ID,
      source: seededBytes('known', size),
      sha256: expected,
    });
    expect(sent).toEqual({ streamId: goodId, size, sha256: expected });
    await expect(received).resolves.toEqual(sent);

    const badId = randomUUID();
    const bad = new TestSink();
    const refused = rx.accept({ streamId: badId, from: nodeId, sink: bad });
    refused.catch(() => undefined);
    await expectStreamError(
      tx.send({
        streamId: badId,
        to: INSTANCE_ID,
        source: seededBytes('other', size),
        sha256: expected,
      }),
      'source_failed',
    );
    await expectStreamError(refused, 'stream_cancelled');
    expect(bad.finished).toBeUndefined();
    expect(bad.size).toBeLessThan(size);
  });

  it('sends an empty stream as one empty final chunk', async () => {
    const rx = await receiver(nodeSide, connect('node'));
    const tx = await sender(cpSide, connect('cp'));
    const streamId = randomUUID();
    const sink = new TestSink();
    const received = rx.accept({ streamId, from: INSTANCE_ID, sink });
    const sent = await tx.send({ streamId, to: nodeId, source: seededBytes('empty', 0) });
    expect(sent).toEqual({
      streamId,
      size: 0,
      sha256: createHash('sha256').digest('hex'),
    });
    await expect(received).resolves.toEqual(sent);
  });

  it('carries several streams at once over the same queues', async () => {
    const rx = await receiver(nodeSide, connect('node'));
    const tx = await sender(cpSide, connect('cp'));
    const chunkSize = 64 * KiB;
    const runs = [0, 1, 2].map(async (i) => {
      const streamId = randomUUID();
      const size = (30 + i) * chunkSize + i;
      const sink = new TestSink();
      const received = rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize });
      const sent = await tx.send({
        streamId,
        to: nodeId,
        source: seededBytes(`many-${i}`, size),
        chunkSize,
      });
      await expect(received).resolves.toEqual(sent);
      expect(sent.sha256).toBe(await sha256Of(seededBytes(`many-${i}`, size)));
      expect(sink.digest()).toBe(sent.sha256);
    });
    await Promise.all(runs);
    // All streams share the receiver's prefetch: its memory does not grow with their number.
    expect(rx.stats.maxBuffered).toBeLessThanOrEqual(16);
  });

  it('reports a sink that cannot store a chunk to the sender', async () => {
    const rx = await receiver(nodeSide, connect('node'));
    const tx = await sender(cpSide, connect('cp'));
    const streamId = randomUUID();
    const chunkSize = 64 * KiB;
    const sink = new TestSink();
    sink.write = async (chunk: SinkChunk) => {
      if (chunk.index === 2) throw new Error('disk full');
    };
    const received = expectStreamError(
      rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize }),
      'sink_failed',
    );
    const sending = tx.send({
      streamId,
      to: nodeId,
      source: seededBytes('sink-fails', 10 * chunkSize),
      chunkSize,
    });
    const error = await expectStreamError(sending, 'sink_failed');
    expect(error.message).toMatch(/disk full/);
    await received;
    expect(sink.aborted?.code).toBe('sink_failed');
  });

  it('never exceeds the window when the sink is slow', async () => {
    const rx = await receiver(nodeSide, connect('node'), 4);
    // The sender would take 16; the receiver grants 4.
    const tx = await sender(cpSide, connect('cp'), 16);
    const streamId = randomUUID();
    const sink = new TestSink({ delayMs: 15 });
    const chunkSize = 64 * KiB;
    const size = 40 * chunkSize;

    const received = rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize });
    const sent = await tx.send({
      streamId,
      to: nodeId,
      source: seededBytes('slow', size),
      chunkSize,
    });

    await expect(received).resolves.toEqual(sent);
    expect(sink.digest()).toBe(sent.sha256);
    // The window was used in full, never more.
    expect(tx.stats.maxInFlight).toBe(4);
    expect(rx.stats.maxBuffered).toBeLessThanOrEqual(4);
    expect(tx.stats.maxRetained).toBeLessThanOrEqual(5);
  });

  it('keeps to its own window when the receiver grants more', async () => {
    const rx = await receiver(nodeSide, connect('node'), 32);
    const tx = await sender(cpSide, connect('cp'), 3);
    const streamId = randomUUID();
    const sink = new TestSink({ delayMs: 5 });
    const chunkSize = 64 * KiB;

    const received = rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize });
    const sent = await tx.send({
      streamId,
      to: nodeId,
      source: seededBytes('own-window', 20 * chunkSize),
      chunkSize,
    });

    await expect(received).resolves.toEqual(sent);
    expect(tx.stats.maxInFlight).toBe(3);
  });

  it('detects a corrupted chunk as a checksum mismatch on both sides', async () => {
    const rx = await receiver(nodeSide, connect('node'));
    const tx = await sender(cpSide, connect('cp'));
    const streamId = randomUUID();
    const sink = new TestSink();
    const chunkSize = 64 * KiB;
    const size = 4 * chunkSize;
    // Handlers attached at once: the promises reject while the test awaits something else.
    const received = expectStreamError(
      rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize }),
      'checksum_mismatch',
    );

    // Someone slips a copy of chunk 0 with one byte flipped in ahead of the sender's.
    const first = (await seededBytes('corrupt', chunkSize, chunkSize).next()).value as Buffer;
    first[1000] ^= 0xff;
    const raw = await rawAmqp();
    cleanups.push(() => raw.close());
    const ch = await raw.createConfirmChannel();
    ch.sendToQueue(streams.nodeDataQueue(nodeId), first, {
      persistent: true,
      type: STREAM_CHUNK_TYPE,
      headers: chunkHeaders({ streamId, index: 0, final: false }),
    });
    await ch.waitForConfirms();
    await eventually(() => sink.writes === 1, {
      timeoutMs: 10_000,
      what: 'the forged chunk written',
    });

    const sending = tx.send({
      streamId,
      to: nodeId,
      source: seededBytes('corrupt', size),
      chunkSize,
    });
    const error = await expectStreamError(sending, 'checksum_mismatch');
    expect(error.message).toMatch(/the receiver failed the stream: .*SHA-256/);
    await received;
    expect(sink.aborted?.code).toBe('checksum_mismatch');
    expect(sink.finished).toBeUndefined();
    // The receiver already held a chunk 0, so the sender read its own without sending it.
    expect(tx.stats.chunksSkipped).toBe(1);
  });

  it('ignores a chunk delivered twice and asks again for one that arrives early', async () => {
    const rx = await receiver(nodeSide, connect('node'));
    const streamId = randomUUID();
    const sink = new TestSink();
    const chunkSize = 64 * KiB;
    const a = randomBytes(chunkSize);
    const b = randomBytes(1000);
    const sha256 = createHash('sha256').update(a).update(b).digest('hex');
    const received = rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize });

    const raw = await rawAmqp();
    cleanups.push(() => raw.close());
    const ch = await raw.createConfirmChannel();
    const publish = (index: number, bytes: Buffer, final: boolean): void => {
      ch.sendToQueue(streams.nodeDataQueue(nodeId), bytes, {
        persistent: true,
        type: STREAM_CHUNK_TYPE,
        headers: chunkHeaders({ streamId, index, final, sha256, size: a.length + b.length }),
      });
    };
    publish(1, b, true); // ahead of chunk 0: dropped, not held
    publish(0, a, false);
    publish(0, a, false); // a duplicate
    publish(1, b, true);
    await ch.waitForConfirms();

    await expect(received).resolves.toEqual({ streamId, size: a.length + b.length, sha256 });
    expect(sink.writes).toBe(2);
    expect(rx.stats.duplicates).toBe(1);
    expect(rx.stats.outOfOrder).toBe(1);
    expect(sink.digest()).toBe(sha256);
  });

  it('resumes from the sink when the receiver is closed and re-created mid-stream', async () => {
    const nodeConn = connect('node');
    const rx1 = await receiver(nodeSide, nodeConn);
    const tx = await sender(cpSide, connect('cp'));
    const streamId = randomUUID();
    const chunkSize = 256 * KiB;
    const chunks = 40;
    const size = chunks * chunkSize - 77;
    const sink = new TestSink({ keep: true, gateAt: 20 });

    const first = expectStreamError(
      rx1.accept({ streamId, from: INSTANCE_ID, sink, chunkSize }),
      'stream_closed',
    );
    const sent = tx.send({
      streamId,
      to: nodeId,
      source: seededBytes('rx-restart', size),
      chunkSize,
    });
    await eventually(() => sink.blockedAt === 20, {
      timeoutMs: 10_000,
      what: 'chunk 20 at the sink',
    });

    // Close while chunk 20 is being written: close waits for it, then leaves the rest queued.
    const closing = rx1.close();
    sink.release();
    await closing;
    await first;
    expect(sink.size).toBe(21 * chunkSize);

    const rx2 = await receiver(nodeSide, nodeConn);
    const second = rx2.accept({ streamId, from: INSTANCE_ID, sink, chunkSize });
    const result = await sent;

    expect(result.sha256).toBe(await sha256Of(seededBytes('rx-restart', size)));
    await expect(second).resolves.toEqual(result);
    expect(sink.digest()).toBe(result.sha256);
    // The new receiver wrote only what the sink lacked.
    expect(rx2.stats.chunksWritten).toBe(chunks - 21);
  });

  it('resumes from the last acknowledged chunk when the sender reconnects as a new sender', async () => {
    const rx = await receiver(nodeSide, connect('node'));
    const cp1 = connect('cp-1');
    const tx1 = await sender(cpSide, cp1);
    const streamId = randomUUID();
    const chunkSize = 256 * KiB;
    const chunks = 40;
    const size = chunks * chunkSize;
    const sink = new TestSink({ gateAt: 20 });

    const received = rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize });
    const first = expectStreamError(
      tx1.send({ streamId, to: nodeId, source: seededBytes('tx-restart', size), chunkSize }),
      'stream_closed',
    );
    await eventually(() => sink.blockedAt === 20, {
      timeoutMs: 10_000,
      what: 'chunk 20 at the sink',
    });

    await cp1.close();
    await first;

    const tx2 = await sender(cpSide, connect('cp-2'));
    const second = tx2.send({
      streamId,
      to: nodeId,
      source: seededBytes('tx-restart', size),
      chunkSize,
    });
    sink.release();
    const result = await second;

    expect(result).toEqual({
      streamId,
      size,
      sha256: await sha256Of(seededBytes('tx-restart', size)),
    });
    await expect(received).resolves.toEqual(result);
    expect(sink.digest()).toBe(result.sha256);
    // Every chunk written once; the new sender read the acknowledged ones without sending them.
    expect(sink.writes).toBe(chunks);
    // 20 acknowledged, less one at most: a credit the receiver sent the first sender just before
    // it closed (acked 18) can still wait in the instance's control queue and reach the second
    // sender first, which then sends chunk 19 again (the receiver drops it as a duplicate). On
    // a loaded machine that happens now and then.
    expect(tx2.stats.chunksSkipped).toBeGreaterThanOrEqual(19);
    // At most a window of copies of what the first sender had in flight.
    expect(tx2.stats.chunksPublished).toBeLessThanOrEqual(chunks - tx2.stats.chunksSkipped + 16);
  });

  it('completes when the broker connection of both sides drops mid-stream', async () => {
    const nodeConn = connect('node');
    const cpConn = connect('cp');
    const rx = await receiver(nodeSide, nodeConn);
    const tx = await sender(cpSide, cpConn);
    const streamId = randomUUID();
    const chunkSize = 256 * KiB;
    const size = 48 * chunkSize;
    const sink = new TestSink({ gateAt: 10 });

    const received = rx.accept({ streamId, from: INSTANCE_ID, sink, chunkSize });
    const sent = tx.send({ streamId, to: nodeId, source: seededBytes('drop', size), chunkSize });
    await eventually(() => sink.blockedAt === 10, {
      timeoutMs: 10_000,
      what: 'chunk 10 at the sink',
    });

    // Chunk 10's acknowledgement will find its channel gone: it must come again, as a duplicate.
    dropConnection(nodeConn);
    dropConnection(cpConn);
    sink.release();
    const result = await sent;

    expect(result.sha256).toBe(await sha256Of(seededBytes('drop', size)));
    await expect(received).resolves.toEqual(result);
    expect(sink.digest()).toBe(result.sha256);
    expect(sink.writes).toBe(48);
  });

  it('refuses stream messages from another node', async () => {
    const cp = connect('cp');
    const rx = await receiver(cpSide, cp);
    const intruder = randomUUID();
    const setup = await rawAmqp();
    cleanups.push(() => setup.close());
    cleanups.push(async () => {
      const c = await setup.createChannel();
      await bridge.deleteNode(c, intruder);
    });
    const ch = await setup.createConfirmChannel();
    await bridge.assertNodeRoute(ch, nodeId);
    await bridge.assertNodeRoute(ch, intruder);
    const streamId = randomUUID();
    const sink = new TestSink();
    const received = expectStreamError(
      rx.accept({ streamId, from: nodeId, sink, chunkSize: 64 * KiB, idleTimeoutMs: 3_000 }),
      'stream_timeout',
    );

    const bytes = Buffer.from('not yours');
    ch.publish(bridge.nodeExchange(intruder), streams.dataRoute(INSTANCE_ID), bytes, {
      persistent: true,
      type: STREAM_CHUNK_TYPE,
      headers: chunkHeaders({
        streamId,
        index: 0,
        final: true,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: bytes.length,
      }),
    });
    await ch.waitForConfirms();

    await eventually(() => rx.stats.refused === 1, {
      timeoutMs: 10_000,
      what: 'the chunk refused',
    });
    expect(sink.writes).toBe(0);
    await received;
  });
});
