import { BRIDGE_RPC_BUDGET_MS, runBridgeRpc } from './bridge-rpc';
import { BRIDGE_STREAM_BENCHMARK } from './bridge-stream';
import { FILES_BENCHMARK } from './files';
import { AUDIT_BENCHMARK } from './audit';

interface Benchmark {
  summary: string;
  run: () => Promise<void>;
  /** After this long the process is ended, whatever the benchmark is doing. */
  hardLimitMs: number;
}

const BENCHMARKS: Record<string, Benchmark> = {
  'bridge-rpc': {
    summary:
      'bridge request/reply (BridgeClient -> BridgeServer) against plain amqplib request/reply',
    run: runBridgeRpc,
    // The loops stop at the budget; set-up and clean-up get a little more.
    hardLimitMs: BRIDGE_RPC_BUDGET_MS + 20_000,
  },
  'bridge-stream': BRIDGE_STREAM_BENCHMARK,
  files: FILES_BENCHMARK,
  audit: AUDIT_BENCHMARK,
};

function usage(): string {
  const names = Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(12)} ${b.summary}`);
  return [
    'usage: npm run bench [-- NAME...]   (no name runs them all)',
    'benchmarks:',
    ...names,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  if (argv.some((a) => a === '-h' || a === '--help')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknown = argv.filter((name) => !Object.hasOwn(BENCHMARKS, name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark: ${unknown.join(', ')}\n${usage()}\n`);
    return 2;
  }
  for (const name of argv.length > 0 ? argv : Object.keys(BENCHMARKS)) {
    const benchmark = BENCHMARKS[name];
    const watchdog = setTimeout(() => {
      process.stderr.write(`${name}: still running after ${benchmark.hardLimitMs} ms; stopped\n`);
      process.exit(1);
    }, benchmark.hardLimitMs);
    watchdog.unref();
    try {
      await benchmark.run();
    } finally {
      clearTimeout(watchdog);
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
