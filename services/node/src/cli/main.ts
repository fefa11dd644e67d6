#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runNode } from '../main';
import { NODE_VERSION } from '../version';

const HELP = `causeway-node: the Causeway node (runs in your network, dials out to the service bridge)

Usage:
  causeway-node run        run the node until SIGTERM/SIGINT (the default)
  causeway-node version    print the version

Options:
  --json    print machine-readable JSON (version)
  --help    show this help

Configuration comes from CAUSEWAY_* environment variables; see docs/operator/configuration.md.`;

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const command = positionals[0] ?? 'run';
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  switch (command) {
    case 'run':
      runNode().catch((error: unknown) => {
        process.stderr.write(
          `causeway-node: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      });
      return;
    case 'version':
      process.stdout.write(
        values.json ? `${JSON.stringify({ version: NODE_VERSION })}\n` : `${NODE_VERSION}\n`,
      );
      return;
    default:
      process.stderr.write(`causeway-node: unknown command "${command}". Try --help.\n`);
      process.exit(64);
  }
}

try {
  main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(
    `causeway-node: ${error instanceof Error ? error.message : String(error)}. Try --help.\n`,
  );
  process.exit(64);
}
