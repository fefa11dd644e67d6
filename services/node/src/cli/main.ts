#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { enrol } from '../enrolment/enrol';
import { runNode } from '../main';
import { NODE_VERSION } from '../version';

const HELP = `causeway-node: the Causeway node (runs in your network, dials out to the service bridge)

Usage:
  causeway-node enroll --control-plane URL --token TOKEN --name NAME [--state-dir DIR]
                           enrol this node with a one-time join token (or $CAUSEWAY_JOIN_TOKEN)
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
      'control-plane': { type: 'string' },
      token: { type: 'string' },
      name: { type: 'string' },
      'state-dir': { type: 'string' },
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
    case 'enroll': {
      const need = (value: string | undefined, flag: string): string => {
        if (!value) throw new Error(`${flag} is required`);
        return value;
      };
      const options = {
        controlPlane: need(values['control-plane'], '--control-plane'),
        token: need(
          values.token ?? process.env.CAUSEWAY_JOIN_TOKEN,
          '--token (or CAUSEWAY_JOIN_TOKEN)',
        ),
        name: need(values.name, '--name'),
        stateDir: values['state-dir'] ?? process.env.CAUSEWAY_STATE_DIR ?? '/var/lib/causeway-node',
        progress: values.json
          ? undefined
          : (step: string) => process.stderr.write(`causeway-node: ${step}\n`),
      };
      enrol(options).then(
        (record) => {
          process.stdout.write(
            values.json
              ? `${JSON.stringify({ nodeId: record.nodeId, tenantId: record.tenantId, stateDir: options.stateDir })}\n`
              : `enrolled: node ${record.nodeId}; start it with CAUSEWAY_STATE_DIR=${options.stateDir} causeway-node run\n`,
          );
        },
        (error: unknown) => {
          process.stderr.write(
            `causeway-node: enrolment failed: ${error instanceof Error ? error.message : String(error)}\n`,
          );
          process.exit(1);
        },
      );
      return;
    }
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
