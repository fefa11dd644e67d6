#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NodeAudit } from '../audit/node-audit';
import { NodeAuditArchiver, objectStoreArchive } from '../audit/node-audit-archive';
import type { AuditArchive } from '@causeway/audit';
import { loadNodeConfig } from '../config/config';
import { createObjectStore } from '../storage';
import { enrol } from '../enrolment/enrol';
import { NodeStore } from '../state/node-store';
import { runNode } from '../main';
import { NODE_VERSION } from '../version';

const HELP = `causeway-node: the Causeway node (runs in your network, dials out to the service bridge)

Usage:
  causeway-node enroll --control-plane URL --token TOKEN --name NAME [--state-dir DIR] [--tenant-id ID]
                           enrol this node with a one-time join token (or $CAUSEWAY_JOIN_TOKEN);
                           with --tenant-id, a token of any other tenant is refused
  causeway-node run        run the node until SIGTERM/SIGINT (the default)
  causeway-node audit [--state-dir DIR]
                           print the node's audit trail (refused requests, key and certificate changes)
  causeway-node audit verify [--state-dir DIR]
                           check the audit trail's hash chain; exit 1 at the first broken entry
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
      'tenant-id': { type: 'string' },
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
        ...(values['tenant-id'] === undefined ? {} : { tenantId: values['tenant-id'] }),
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
    case 'audit': {
      const dir = values['state-dir'] ?? process.env.CAUSEWAY_STATE_DIR ?? '/var/lib/causeway-node';
      if (!existsSync(join(dir, 'node.db'))) {
        process.stderr.write(`causeway-node: ${dir} holds no node database; check --state-dir\n`);
        process.exit(1);
      }
      const store = NodeStore.open(dir);
      try {
        const audit = new NodeAudit(store);
        if (positionals[1] === 'verify') {
          // The live chain and every archived segment in the node's storage (when configured).
          const live = audit.list().length;
          const verifyStore = NodeStore.open(dir);
          nodeAuditArchive(dir)
            .then((archive) => new NodeAuditArchiver(verifyStore, archive).verify())
            .then(
              (report) => {
                const problem = report.problems[0];
                process.stdout.write(
                  values.json
                    ? `${JSON.stringify({ ...report, problem: problem ?? null })}\n`
                    : report.ok
                      ? `audit trail intact (${live} live entries, ${report.segments} archived segments)\n`
                      : report.problems
                          .map(
                            (p) =>
                              `audit trail broken: ${p.kind} in ${p.where}${p.segment ? ` ${p.segment}` : ''}${p.seq !== undefined ? ` at seq ${p.seq}` : ''}${p.index !== undefined ? ` (index ${p.index})` : ''}: ${p.detail}\n`,
                          )
                          .join(''),
                );
                if (!report.ok) process.exitCode = 1;
              },
              (error: unknown) => {
                process.stderr.write(
                  `causeway-node: audit verification failed: ${error instanceof Error ? error.message : String(error)}\n`,
                );
                process.exitCode = 1;
              },
            )
            .finally(() => verifyStore.close());
          return;
        }
        for (const entry of audit.list()) {
          process.stdout.write(
            values.json
              ? `${JSON.stringify(entry)}\n`
              : `${entry.seq}  ${entry.at}  ${entry.code}  ${JSON.stringify(entry.fields)}\n`,
          );
        }
      } finally {
        store.close();
      }
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

/**
 * The node's storage as an audit archive, from its configuration; an empty archive (live chain
 * only, said on stderr) when the configuration cannot be read here.
 */
async function nodeAuditArchive(stateDir: string): Promise<AuditArchive> {
  try {
    const config = loadNodeConfig({ ...process.env, CAUSEWAY_STATE_DIR: stateDir });
    return objectStoreArchive(await createObjectStore(config.storage));
  } catch (error) {
    process.stderr.write(
      `causeway-node: archived segments not checked (${error instanceof Error ? error.message : String(error)})\n`,
    );
    return {
      put: () => Promise.reject(new Error('read-only')),
      get: () => Promise.resolve(undefined),
      list: () => Promise.resolve([]),
      delete: () => Promise.resolve(),
    };
  }
}
