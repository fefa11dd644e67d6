import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import amqplib from 'amqplib';
import pino from 'pino';
import {
  BridgeTopology,
  StreamReceiver,
  StreamSender,
  StreamTopology,
  createBridgeConnection,
  redactUrl,
  waitForBroker,
  type SinkChunk,
  type SinkResume,
  type StreamSink,
} from '@causeway/bridge';
import { formatTable } from './load';
import { runPlainTransfer, type TransferResult } from './plain-stream';

const MiB = 1024 * 1024;
const CHUNK_SIZE = MiB;
/** Chunks in flight: the bridge's credit window, and the baseline's unconfirmed publishes and
 * prefetch. */
const WINDOW = 16;
const LARGE = 1024 * MiB;
const SMALL = 256 * MiB;
/** Nothing is sent after this long since the benchmark started, whatever happens. */
export const BRIDGE_STREAM_BUDGET_MS = 120_000;
/** One transfer stops sending after this long, whatever its size. */
const PHASE_MAX_MS = 25_000;
/** A child that has not reported this long after its phase should have ended is killed. */
const CHILD_GRACE_MS = 40_000;
const SAMPLE_EVERY_MS = 100;
const INSTANCE_ID = 'bench-cp';

/** `plain-sha256` is the baseline plus the SHA-256 check on both ends: a reference that shows
 * how much of the gap is the integrity check; the ratio is taken against `plain`. */
type Side = 'causeway' | 'plain' | 'plain-sha256';
const LABELS: Record<Side, string> = {
  causeway: 'causeway',
  plain: 'plain amqplib',
  'plain-sha256': 'plain + SHA-256',
};

/** One transfer, run in a process of its own so that its peak RSS is its own. */
interface Phase {
  side: Side;
  bytes: number;
  maxMs: number;
  url: string;
  namespace: string;
  nodeId: string;
}

interface PhaseResult extends TransferResult {
  side: Side;
  /** Resident set size when the transfer started (connections open), and the most seen. */
  startRss: number;
  peakRss: number;
}

/**
 * Streams 1 GiB through the bridge (StreamSender on a control-plane connection -> StreamReceiver
 * on a node connection, 1 MiB chunks, window 16, SHA-256 checked end to end) against plain
 * amqplib publish/consume of the same bytes with the same durability, in the same run against
 * the same broker; and a 256 MiB bridge stream to show that peak memory does not grow with size.
 * Each transfer runs in a fresh child process, so each peak RSS belongs to one transfer only.
 * Prints a table, then `bridge-stream: ratio X.XX` (bridge MB/s over plain MB/s) last.
 */
export async function runBridgeStream(): Promise<void> {
  const url = process.env.CAUSEWAY_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const budgetEnd = performance.now() + BRIDGE_STREAM_BUDGET_MS;
  const progress = (line: string): void => void process.stderr.write(`bridge-stream: ${line}\n`);

  // Fails fast with a clear error when the broker is down, and tells its version.
  const admin = await amqplib.connect(url, { noDelay: true });
  admin.on('error', (error: Error) => progress(`admin connection error: ${error.message}`));
  const brokerVersion = String(admin.connection.serverProperties.version ?? '?');
  await admin.close();

  // The 1 GiB transfers alternate between the sides (A B C C B A), so that a change in the
  // machine's load during the run falls on all of them.
  const plan: Array<[Side, number]> = [
    ['causeway', SMALL],
    ['plain', LARGE],
    ['causeway', LARGE],
    ['plain-sha256', LARGE],
    ['plain-sha256', LARGE],
    ['causeway', LARGE],
    ['plain', LARGE],
  ];
  const results: Array<PhaseResult & { size: number }> = [];
  for (const [side, bytes] of plan) {
    const remaining = budgetEnd - performance.now();
    if (remaining < 1_000) {
      progress('time budget spent; skipping the remaining transfers');
      break;
    }
    progress(`${side}: ${bytes / MiB} MiB`);
    const phase: Phase = {
      side,
      bytes,
      maxMs: Math.min(PHASE_MAX_MS, remaining),
      url,
      namespace: `bench-${randomBytes(4).toString('hex')}`,
      nodeId: randomUUID(),
    };
    try {
      results.push({ ...(await runChild(phase)), size: bytes });
    } finally {
      await deleteEverything(phase).catch((error: unknown) =>
        progress(`could not delete the benchmark's queues and exchanges: ${String(error)}`),
      );
    }
  }

  const large = (side: Side) => results.filter((r) => r.side === side && r.size === LARGE);
  const rate = (rs: TransferResult[]): number => {
    const ms = rs.reduce((n, r) => n + r.elapsedMs, 0);
    return ms > 0 ? rs.reduce((n, r) => n + r.bytes, 0) / 1e6 / (ms / 1000) : 0;
  };
  const causeway = large('causeway');
  const plain = large('plain');
  const hashed = large('plain-sha256');
  if (rate(causeway) === 0 || rate(plain) === 0) {
    throw new Error('no 1 GiB transfer of each side completed within the time budget; no ratio');
  }
  const small = results.find((r) => r.side === 'causeway' && r.size === SMALL);
  const peakOf = (rs: PhaseResult[]): number => Math.max(...rs.map((r) => r.peakRss));
  const mib = (bytes: number): string => (bytes / MiB).toFixed(0);
  const row = (r: PhaseResult & { size: number }): string[] => [
    LABELS[r.side],
    `${mib(r.bytes)}${r.cut ? '*' : ''}`,
    (r.elapsedMs / 1000).toFixed(2),
    (r.bytes / 1e6 / (r.elapsedMs / 1000)).toFixed(0),
    mib(r.startRss),
    mib(r.peakRss),
  ];
  const memoryLine = small
    ? `peak RSS of the bridge: ${mib(small.peakRss)} MiB streaming ${mib(small.bytes)} MiB, ` +
      `${mib(peakOf(causeway))} MiB streaming ${mib(LARGE)} MiB\n`
    : '';
  process.stdout.write(
    `bridge-stream: ${mib(LARGE)} MiB in ${CHUNK_SIZE / MiB} MiB chunks, window ${WINDOW}, ` +
      `RabbitMQ ${brokerVersion} at ${redactUrl(url)}\n` +
      formatTable(
        ['side', 'MiB', 'seconds', 'MB/s', 'start RSS MiB', 'peak RSS MiB'],
        results.map(row),
      ) +
      '\n' +
      (results.some((r) => r.cut)
        ? '* stopped on its time limit before all bytes were sent\n'
        : '') +
      `MB/s over the 1 GiB transfers: causeway ${rate(causeway).toFixed(0)}, ` +
      `plain amqplib ${rate(plain).toFixed(0)}, plain + SHA-256 ${rate(hashed).toFixed(0)}\n` +
      memoryLine +
      `bridge-stream: ratio ${(rate(causeway) / rate(plain)).toFixed(2)}\n`,
  );
}

/** The entry of `bench/src/main.ts`. Sending stops at the budget; a transfer cut there may
 * still drain and clean up for a while. */
export const BRIDGE_STREAM_BENCHMARK = {
  summary: 'a 1 GiB bridge stream (StreamSender -> StreamReceiver) against plain amqplib',
  run: runBridgeStream,
  hardLimitMs: BRIDGE_STREAM_BUDGET_MS + 30_000,
};

/** Runs one phase in a child process (this file) and returns what it reports. */
async function runChild(phase: Phase): Promise<PhaseResult> {
  const child = fork(__filename, ['--phase', JSON.stringify(phase)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<PhaseResult>((resolve, reject) => {
    let result: PhaseResult | undefined;
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${phase.side} transfer still running after ${phase.maxMs + CHILD_GRACE_MS} ms`),
      );
    }, phase.maxMs + CHILD_GRACE_MS);
    child.on('message', (message: unknown) => {
      result = message as PhaseResult;
    });
    child.on('error', (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(killer);
      if (result && code === 0) resolve(result);
      else reject(new Error(`${phase.side} transfer failed (exit code ${String(code)})`));
    });
  });
}

/** In the child: runs the transfer while sampling the resident set size. */
async function runPhase(phase: Phase): Promise<PhaseResult> {
  let startRss = 0;
  let peakRss = 0;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };
  const sampler = setInterval(sample, SAMPLE_EVERY_MS);
  const started = (): void => {
    startRss = process.memoryUsage.rss();
    peakRss = startRss;
  };
  try {
    const result =
      phase.side === 'causeway'
        ? await causewayTransfer(phase, started)
        : await plainTransfer(phase, started);
    sample();
    return { ...result, side: phase.side, startRss, peakRss };
  } finally {
    clearInterval(sampler);
  }
}

async function plainTransfer(phase: Phase, started: () => void): Promise<TransferResult> {
  const chunk = randomBytes(CHUNK_SIZE);
  started();
  return runPlainTransfer({
    url: phase.url,
    queue: plainQueue(phase),
    chunk,
    totalBytes: phase.bytes,
    window: WINDOW,
    deadline: performance.now() + phase.maxMs,
    sha256: phase.side === 'plain-sha256',
  });
}

/** Takes the bytes and keeps nothing: the receiver hashes them, the sink only counts. */
class CountingSink implements StreamSink {
  bytes = 0;
  async open(): Promise<SinkResume> {
    return { size: 0 };
  }
  async write(chunk: SinkChunk): Promise<void> {
    this.bytes += chunk.bytes.length;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

async function causewayTransfer(phase: Phase, started: () => void): Promise<TransferResult> {
  const logger = pino({ level: 'warn' });
  const topology = new BridgeTopology(phase.namespace);
  const cp = createBridgeConnection({ url: phase.url, connectionName: 'bench-stream-cp', logger });
  const node = createBridgeConnection({
    url: phase.url,
    connectionName: 'bench-stream-node',
    logger,
  });
  await waitForBroker(cp, 10_000);
  await waitForBroker(node, 10_000);
  const receiver = new StreamReceiver({
    connection: node,
    topology,
    side: { role: 'node', nodeId: phase.nodeId },
    logger,
    window: WINDOW,
  });
  const sender = new StreamSender({
    connection: cp,
    topology,
    side: { role: 'control-plane', instanceId: INSTANCE_ID },
    logger,
    maxWindow: WINDOW,
  });
  await receiver.start();
  await sender.start();

  const chunk = randomBytes(CHUNK_SIZE);
  const streamId = randomUUID();
  const sink = new CountingSink();
  started();
  const startedAt = performance.now();
  const deadline = startedAt + phase.maxMs;
  let cut = false;
  // The same random MiB over and over: 1 GiB is never in memory.
  async function* source(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < phase.bytes; sent += chunk.length) {
      if (performance.now() > deadline) {
        cut = true;
        return;
      }
      yield chunk;
    }
  }
  const received = receiver.accept({ streamId, from: INSTANCE_ID, sink, idleTimeoutMs: 30_000 });
  const result = await sender.send({
    streamId,
    to: phase.nodeId,
    source: source(),
    idleTimeoutMs: 30_000,
  });
  const elapsedMs = performance.now() - startedAt;
  await received;
  if (sink.bytes !== result.size) {
    throw new Error(`the sink got ${sink.bytes} bytes, the sender sent ${result.size}`);
  }
  await sender.close();
  await receiver.close();
  await cp.close();
  await node.close();
  return { bytes: result.size, elapsedMs, cut };
}

function plainQueue(phase: Phase): string {
  return `${phase.namespace}.plain.stream`;
}

/** Deletes every queue and exchange a phase may have declared, even if its child was killed. */
async function deleteEverything(phase: Phase): Promise<void> {
  const bridge = new BridgeTopology(phase.namespace);
  const streams = new StreamTopology(bridge);
  const connection = await amqplib.connect(phase.url);
  try {
    const channel = await connection.createChannel();
    for (const queue of [
      bridge.nodeRpcQueue(phase.nodeId),
      streams.nodeDataQueue(phase.nodeId),
      streams.nodeControlQueue(phase.nodeId),
      streams.controlPlaneDataQueue(INSTANCE_ID),
      streams.controlPlaneControlQueue(INSTANCE_ID),
      plainQueue(phase),
    ]) {
      await channel.deleteQueue(queue);
    }
    await channel.deleteExchange(bridge.nodeExchange(phase.nodeId));
    await channel.deleteExchange(bridge.inboundExchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--phase');
  const phase = JSON.parse(process.argv[at + 1] ?? '{}') as Phase;
  runPhase(phase).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(
        `bridge-stream: ${phase.side} transfer failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
