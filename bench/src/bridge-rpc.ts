import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import amqplib, { type ChannelModel } from 'amqplib';
import pino from 'pino';
import {
  BridgeClient,
  BridgeServer,
  BridgeTopology,
  createBridgeConnection,
  redactUrl,
} from '@causeway/bridge';
import {
  formatTable,
  mergeResults,
  percentile,
  requestsPerSecond,
  runLoad,
  type LoadOptions,
  type LoadResult,
} from './load';
import { createBridgeTrust } from '@causeway/testing';
import { PlainRpcClient, PlainRpcServer, type PlainQueues } from './plain-rpc';

/** Size of the `echo` string each request carries and each reply returns. */
const PAYLOAD_BYTES = 256;
const WARMUP_REQUESTS = 500;
const SERIAL_REQUESTS = 2_000;
const CONCURRENCY = 32;
const CONCURRENT_REQUESTS = 20_000;
/** Measured phases are cut into this many rounds per side, alternating between the sides. */
const ROUNDS = 4;
/** Time limits per side, whatever the request counts: they add up to the budget below. */
const WARMUP_MAX_MS = 5_000;
const SERIAL_MAX_MS = 10_000;
const CONCURRENT_MAX_MS = 15_000;
/** Nothing is sent after this long since the benchmark started, whatever happens. */
export const BRIDGE_RPC_BUDGET_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
const INSTANCE_ID = 'bench-cp';

interface Side {
  name: string;
  call: (seq: number) => Promise<void>;
}

interface SideResults {
  serial: LoadResult;
  concurrent: LoadResult;
}

/**
 * Request/reply through the bridge (BridgeClient -> RabbitMQ -> BridgeServer and back) against
 * plain amqplib request/reply with the same durability, measured in the same run against the
 * same broker. Prints a table, then `bridge-rpc: ratio X.XX` (bridge req/s over plain req/s at
 * 32 in flight) as the last line.
 */
export async function runBridgeRpc(): Promise<void> {
  const url = process.env.CAUSEWAY_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const deadline = performance.now() + BRIDGE_RPC_BUDGET_MS;
  const logger = pino({ level: 'warn' });
  const echo = 'x'.repeat(PAYLOAD_BYTES);
  const namespace = `bench-${randomBytes(4).toString('hex')}`;
  const topology = new BridgeTopology(namespace);
  const nodeId = randomUUID();
  const plainQueues: PlainQueues = {
    requestQueue: `${namespace}.plain.requests`,
    replyQueue: `${namespace}.plain.replies`,
  };
  const progress = (line: string): void => void process.stderr.write(`bridge-rpc: ${line}\n`);

  // A raw connection of our own: fails fast with a clear error when the broker is down (the
  // managed connections would retry forever), tells the broker version, and cleans up at the end.
  const admin = await amqplib.connect(url, { noDelay: true });
  // An unhandled 'error' event would crash the process; the failing request reports it instead.
  const reportErrors = (what: string, connection: ChannelModel): void =>
    void connection.on('error', (error: Error) => progress(`${what} error: ${error.message}`));
  reportErrors('admin connection', admin);
  const brokerVersion = String(admin.connection.serverProperties.version ?? '?');
  const closers: Array<[string, () => Promise<unknown>]> = [];
  let results: Record<'causeway' | 'plain', SideResults> | undefined;
  try {
    // (a) Causeway: control-plane and node sides on separate connections, as in production.
    const cpConn = createBridgeConnection({ url, connectionName: 'bench-cp', logger });
    closers.push(['control-plane connection', () => cpConn.close()]);
    const nodeConn = createBridgeConnection({ url, connectionName: 'bench-node', logger });
    closers.push(['node connection', () => nodeConn.close()]);
    // Real delegation tokens and reply signatures: the measured path is the production one.
    const trust = await createBridgeTrust({ namespace, nodeId, tenantId: randomUUID() });
    const client = new BridgeClient({
      connection: cpConn,
      topology,
      instanceId: INSTANCE_ID,
      logger,
      trust: trust.client,
    });
    closers.unshift(['bridge client', () => client.close()]);
    await client.start();
    await client.ensureNodeRoute(nodeId);
    const server = new BridgeServer({
      connection: nodeConn,
      topology,
      nodeId,
      logger,
      prefetch: CONCURRENCY,
      trust: trust.server,
      handlers: {
        ping: async (payload) => ({
          pong: true,
          nodeId,
          echo: payload.echo,
          at: new Date().toISOString(),
        }),
      },
    });
    closers.unshift(['bridge server', () => server.stop()]);
    await server.start();

    // (b) The baseline, also on two connections.
    const plainClientConn = await amqplib.connect(url, { noDelay: true });
    reportErrors('plain client connection', plainClientConn);
    closers.push(['plain client connection', () => plainClientConn.close()]);
    const plainServerConn = await amqplib.connect(url, { noDelay: true });
    reportErrors('plain server connection', plainServerConn);
    closers.push(['plain server connection', () => plainServerConn.close()]);
    const plainClient = new PlainRpcClient(plainClientConn, plainQueues, 256);
    closers.unshift(['plain client', () => plainClient.close()]);
    await plainClient.start();
    const plainServer = new PlainRpcServer(plainServerConn, plainQueues, CONCURRENCY, (body) => {
      const request = JSON.parse(body.toString('utf8')) as { echo?: unknown };
      const echoed = typeof request.echo === 'string' ? request.echo : undefined;
      return Buffer.from(
        JSON.stringify({ pong: true, nodeId, echo: echoed, at: new Date().toISOString() }),
        'utf8',
      );
    });
    closers.unshift(['plain server', () => plainServer.stop()]);
    await plainServer.start();

    const causeway: Side = {
      name: 'causeway',
      call: async (seq) => {
        const reply = await client.request(
          nodeId,
          'ping',
          { echo },
          { requestId: `bench-${seq}`, timeoutMs: REQUEST_TIMEOUT_MS, principal: trust.principal },
        );
        if (reply.echo !== echo) throw new Error('causeway reply does not echo the payload');
      },
    };
    const plain: Side = {
      name: 'plain amqplib',
      call: async () => {
        const body = await plainClient.request(
          Buffer.from(JSON.stringify({ echo }), 'utf8'),
          REQUEST_TIMEOUT_MS,
        );
        const reply = JSON.parse(body.toString('utf8')) as { echo?: unknown };
        if (reply.echo !== echo) throw new Error('plain reply does not echo the payload');
      },
    };

    const phase = async (side: Side, what: string, options: Omit<LoadOptions, 'deadline'>) => {
      const result = await runLoad(side.call, { ...options, deadline });
      if (result.failed > 0) {
        throw new Error(`${side.name} ${what}: request failed: ${result.firstError ?? '?'}`);
      }
      return result;
    };
    // Each measured phase is cut into rounds that alternate between the two sides (A B B A ...),
    // so that drift in the machine's load during the run (other processes, the broker's own
    // housekeeping) falls on both sides alike instead of on whichever ran second.
    const measure = async (what: string, options: Omit<LoadOptions, 'deadline'>) => {
      progress(what);
      const round = {
        ...options,
        requests: Math.ceil(options.requests / ROUNDS),
        maxMs: options.maxMs / ROUNDS,
      };
      const causewayRounds: LoadResult[] = [];
      const plainRounds: LoadResult[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        if (i % 2 === 0) {
          causewayRounds.push(await phase(causeway, what, round));
          plainRounds.push(await phase(plain, what, round));
        } else {
          plainRounds.push(await phase(plain, what, round));
          causewayRounds.push(await phase(causeway, what, round));
        }
      }
      return { causeway: mergeResults(causewayRounds), plain: mergeResults(plainRounds) };
    };
    progress('warm-up');
    const warmup = { concurrency: CONCURRENCY, requests: WARMUP_REQUESTS, maxMs: WARMUP_MAX_MS };
    await phase(causeway, 'warm-up', warmup);
    await phase(plain, 'warm-up', warmup);
    const serial = await measure('1 in flight', {
      concurrency: 1,
      requests: SERIAL_REQUESTS,
      maxMs: SERIAL_MAX_MS,
    });
    const concurrent = await measure(`${CONCURRENCY} in flight`, {
      concurrency: CONCURRENCY,
      requests: CONCURRENT_REQUESTS,
      maxMs: CONCURRENT_MAX_MS,
    });
    results = {
      causeway: { serial: serial.causeway, concurrent: concurrent.causeway },
      plain: { serial: serial.plain, concurrent: concurrent.plain },
    };
  } finally {
    for (const [what, close] of closers) {
      await close().catch((error: unknown) =>
        progress(`could not close the ${what}: ${String(error)}`),
      );
    }
    await deleteEverything(admin, topology, nodeId, plainQueues).catch((error: unknown) =>
      progress(`could not delete the benchmark's queues and exchanges: ${String(error)}`),
    );
    await admin.close().catch(() => undefined);
  }

  const row = (name: string, r: LoadResult): string[] => [
    name,
    String(r.concurrency),
    `${r.completed}${r.cut ? '*' : ''}`,
    percentile(r.latencies, 50).toFixed(2),
    percentile(r.latencies, 99).toFixed(2),
    requestsPerSecond(r).toFixed(0),
    r.completed > 0 ? (r.cpuMicros / r.completed).toFixed(0) : '-',
  ];
  const { causeway, plain } = results;
  for (const [name, side] of [
    ['causeway', causeway],
    ['plain amqplib', plain],
  ] as const) {
    if (side.serial.completed === 0 || side.concurrent.completed === 0) {
      throw new Error(`${name}: no request completed within the time budget; no ratio`);
    }
  }
  process.stdout.write(
    `bridge-rpc: ${PAYLOAD_BYTES}-byte echo, RabbitMQ ${brokerVersion} at ${redactUrl(url)}\n` +
      formatTable(
        ['side', 'in flight', 'requests', 'p50 ms', 'p99 ms', 'req/s', 'node CPU us/req'],
        [
          row('causeway', causeway.serial),
          row('plain amqplib', plain.serial),
          row('causeway', causeway.concurrent),
          row('plain amqplib', plain.concurrent),
        ],
      ) +
      '\n' +
      ([causeway, plain].some((s) => s.serial.cut || s.concurrent.cut)
        ? '* stopped on its time limit before all requests were sent\n'
        : '') +
      `bridge-rpc: ratio ${(requestsPerSecond(causeway.concurrent) / requestsPerSecond(plain.concurrent)).toFixed(2)}\n`,
  );
}

/** Deletes every queue and exchange the run declared, on a plain channel of its own. */
async function deleteEverything(
  admin: ChannelModel,
  topology: BridgeTopology,
  nodeId: string,
  plainQueues: PlainQueues,
): Promise<void> {
  const channel = await admin.createChannel();
  // A missing entity closes the channel in some broker versions: ignore the error event, the
  // next deletion then fails and is reported by the caller.
  channel.on('error', () => undefined);
  const names = topology.names([nodeId], [INSTANCE_ID]);
  for (const queue of [...names.queues, plainQueues.requestQueue, plainQueues.replyQueue]) {
    await channel.deleteQueue(queue);
  }
  for (const exchange of names.exchanges) await channel.deleteExchange(exchange);
  await channel.close();
}
