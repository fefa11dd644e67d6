import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import {
  StreamReceiver,
  StreamSender,
  createBridgeConnection,
  type SinkChunk,
  type StreamSink,
} from '@causeway/bridge';
import { RabbitMqInstance, eventually } from '@causeway/testing';
import { Stack } from './harness';

const MIB = 1024 * 1024;
const SIZE = 200 * MIB;

/** Keeps only a running hash and the write count per chunk: 200 MiB never sit in memory. */
class HashingSink implements StreamSink {
  readonly hash = createHash('sha256');
  size = 0;
  readonly writes = new Map<number, number>();
  finished: string | undefined;

  async open() {
    return { size: 0 };
  }
  async write(chunk: SinkChunk) {
    this.writes.set(chunk.index, (this.writes.get(chunk.index) ?? 0) + 1);
    this.hash.update(chunk.bytes);
    this.size += chunk.bytes.length;
  }
  async finish() {
    this.finished ??= this.hash.digest('hex');
  }
  async abort() {}
}

/** 200 MiB from a repeating random block, with its SHA-256 computed as it is read. */
async function* source(expected: { sha256?: string }, onChunk: (sent: number) => void) {
  const block = randomBytes(MIB);
  const hash = createHash('sha256');
  for (let sent = 0; sent < SIZE; sent += MIB) {
    const bytes = Buffer.from(block);
    hash.update(bytes);
    onChunk(sent);
    yield bytes;
  }
  expected.sha256 = hash.digest('hex');
}

describe('a 200 MiB stream across a RabbitMQ restart', () => {
  let broker: RabbitMqInstance;
  let stack: Stack;

  beforeAll(async () => {
    broker = await RabbitMqInstance.start({ managementPlugin: true });
    stack = await Stack.onPrivateBroker(broker);
    await stack.createTenant('acme');
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await broker?.destroy();
  }, 60_000);

  it('completes with a matching checksum, each chunk written once, the node on its own broker user', async () => {
    const node = await stack.registerNode('acme', 'stream-node');
    const logger = pino({ level: 'warn' });
    const nodeUrl = stack.nodeAmqpUrl(node.id);
    expect(nodeUrl).toContain(`node-${node.id}:`);
    const nodeConnection = createBridgeConnection({
      url: nodeUrl,
      connectionName: 'test-node',
      logger,
    });
    const cpConnection = createBridgeConnection({
      url: broker.amqpUrl,
      connectionName: 'test-cp',
      logger,
    });
    const instanceId = stack.config.instanceId;
    const receiver = new StreamReceiver({
      connection: nodeConnection,
      topology: stack.topology,
      side: { role: 'node', nodeId: node.id },
      logger,
    });
    const sender = new StreamSender({
      connection: cpConnection,
      topology: stack.topology,
      side: { role: 'control-plane', instanceId },
      logger,
    });
    try {
      await receiver.start();
      await sender.start();
      const sink = new HashingSink();
      const streamId = randomUUID();
      const accepted = receiver.accept({
        streamId,
        from: instanceId,
        sink,
        idleTimeoutMs: 120_000,
      });

      let restart: Promise<void> | undefined;
      const expected: { sha256?: string } = {};
      const sent = sender.send({
        streamId,
        to: node.id,
        idleTimeoutMs: 120_000,
        source: source(expected, (offset) => {
          // About a third of the way in, restart the broker under the running stream.
          if (offset === 64 * MIB) restart = broker.restart();
        }),
      });
      const [received, delivered] = await Promise.all([accepted, sent]);
      await restart;

      expect(expected.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(delivered).toMatchObject({ size: SIZE, sha256: expected.sha256 });
      expect(received).toMatchObject({ size: SIZE, sha256: expected.sha256 });
      expect(sink.size).toBe(SIZE);
      expect(sink.finished).toBe(expected.sha256);
      expect(sink.writes.size).toBe(SIZE / MIB);
      expect([...sink.writes.values()].every((n) => n === 1)).toBe(true);
      // The broker really went away and came back during the stream.
      expect(broker.lastStartMs).toBeGreaterThan(0);
      await eventually(() => nodeConnection.isConnected() && cpConnection.isConnected(), {
        timeoutMs: 30_000,
        what: 'both connections back',
      });
    } finally {
      await receiver.close().catch(() => undefined);
      await sender.close().catch(() => undefined);
      await nodeConnection.close();
      await cpConnection.close();
    }
  }, 240_000);
});
