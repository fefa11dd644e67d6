#!/usr/bin/env node
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { guardBrokerRejections } from '@causeway/bridge';
import { CausewayError, ConfigError } from '@causeway/contracts';
import { AppModule } from '../app.module';
import type { NodeBrokerCredentials } from '../broker-users/broker-users.service';
import { loadConfig } from '../config/config';
import { runMigrations } from '../database/data-source';
import { createRootLogger } from '../logging';
import { EnrolmentService } from '../enrolment/enrolment.service';
import { NodesService } from '../nodes/nodes.service';
import { KeyRotation } from '../trust/key-rotation';
import { SigningKeysService } from '../trust/signing-keys.service';
import { TenantsService } from '../tenants/tenants.service';

const HELP = `causeway-cp: control-plane operator commands (run where the control plane runs)

Usage:
  causeway-cp migrate                                     apply pending database migrations
  causeway-cp tenants create --slug S --name N --region R create a tenant
  causeway-cp join-tokens create --tenant S [--ttl SEC]   a one-time token that enrols a node in tenant S
  causeway-cp nodes credentials --node ID                 give a node a new broker password
  causeway-cp nodes revoke --node ID                      cut a node off the broker at once
  causeway-cp nodes list [--tenant S]                     list nodes with their state
  causeway-cp signing-keys list                           the control plane's delegation signing keys
  causeway-cp signing-keys rotate                         rotate the delegation signing key (no downtime)

Options:
  --json    print machine-readable JSON
  --help    show this help

Reads the same CAUSEWAY_* variables as the control plane (see docs/operator/configuration.md).`;

type Flags = {
  json: boolean;
  slug?: string;
  name?: string;
  region?: string;
  tenant?: string;
  node?: string;
  ttl?: string;
};

/**
 * Prints what a node needs to connect: its id and its own broker URL (the control plane's
 * broker address with the node's user). Shown once; the control plane keeps no copy.
 */
function printNodeAccess(
  nodeId: string,
  credentials: NodeBrokerCredentials,
  json: boolean,
  extra: Record<string, unknown>,
): void {
  const amqpUrl = credentials.amqpUrl(loadConfig().amqpUrl);
  process.stdout.write(
    json
      ? `${JSON.stringify({ ...extra, nodeId, broker: { username: credentials.username, password: credentials.password, amqpUrl } })}\n`
      : `${nodeId}\nCAUSEWAY_NODE_ID=${nodeId}\nCAUSEWAY_AMQP_URL=${amqpUrl}\n(the password is shown only now; keep it in the node's environment file, mode 600)\n`,
  );
}

async function withServices<T>(
  fn: (tenants: TenantsService, nodes: NodesService, app: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const logger = createRootLogger('warn', pino.destination(2));
  guardBrokerRejections(logger);
  const app = await NestFactory.createApplicationContext(
    // Logs go to stderr so that stdout carries only the answer (and stays parseable with --json).
    AppModule.forRoot({ config, logger }),
    { logger: ['error', 'warn'] },
  );
  try {
    await app.init();
    return await fn(app.get(TenantsService), app.get(NodesService), app);
  } finally {
    await app.close();
  }
}

function required(flags: Flags, name: keyof Flags): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

class UsageError extends Error {}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      slug: { type: 'string' },
      name: { type: 'string' },
      region: { type: 'string' },
      tenant: { type: 'string' },
      node: { type: 'string' },
      ttl: { type: 'string' },
    },
  });
  const flags = values as Flags & { help: boolean };
  const command = positionals.join(' ');
  const print = (human: string, data: unknown): void => {
    process.stdout.write(flags.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
  };
  if (flags.help || command === '') {
    process.stdout.write(`${HELP}\n`);
    return flags.help ? 0 : 64;
  }
  switch (command) {
    case 'migrate': {
      const ran = await runMigrations(loadConfig().databaseUrl);
      print(ran.length ? `applied: ${ran.join(', ')}` : 'database schema is up to date', {
        applied: ran,
      });
      return 0;
    }
    case 'tenants create': {
      const input = {
        slug: required(flags, 'slug'),
        name: required(flags, 'name'),
        region: required(flags, 'region'),
      };
      const tenant = await withServices((tenants) => tenants.create(input));
      print(`tenant ${tenant.slug} created (id ${tenant.id}, region ${tenant.region})`, tenant);
      return 0;
    }
    case 'join-tokens create': {
      const tenant = required(flags, 'tenant');
      const input = flags.ttl === undefined ? {} : { ttlSeconds: Number(flags.ttl) };
      const created = await withServices((_t, _n, app) =>
        app.get(EnrolmentService).createToken(tenant, input),
      );
      print(
        `${created.token}\n(one-time, expires ${created.expiresAt}; enrol with: causeway-node enroll --control-plane URL --token ${created.token} --name NAME)`,
        created,
      );
      return 0;
    }
    case 'signing-keys list': {
      const keys = await withServices((_t, _n, app) => app.get(SigningKeysService).list());
      print(
        keys
          .map(
            (k) =>
              `${k.kid}  ${k.status.padEnd(8)} ${k.activatedAt ?? '-'}  ${k.trusted ? 'trusted' : 'dropped'}`,
          )
          .join('\n') || 'no keys (enrolment is off)',
        { items: keys },
      );
      return 0;
    }
    case 'signing-keys rotate': {
      const result = await withServices((_t, _n, app) => app.get(KeyRotation).rotate('cli-rotate'));
      print(
        `signing key ${result.kid} active; ${result.retired ?? 'no key'} retired; key set v${result.version} sent to ${result.nodesUpdated} node(s), ${result.nodesMissed} to catch up later`,
        result,
      );
      return 0;
    }
    case 'nodes credentials': {
      const id = required(flags, 'node');
      const credentials = await withServices((_tenants, nodes) => nodes.rotateCredentials(id));
      printNodeAccess(id, credentials, flags.json, {});
      return 0;
    }
    case 'nodes revoke': {
      const id = required(flags, 'node');
      await withServices((_tenants, nodes) => nodes.revoke(id));
      print(`node ${id} revoked: cut off the broker, its messages refused`, {
        node: id,
        revoked: true,
      });
      return 0;
    }
    case 'nodes list': {
      const list = await withServices((_tenants, nodes) => nodes.list(flags.tenant));
      print(
        list
          .map(
            (n) =>
              `${n.id}  ${n.name.padEnd(20)} ${n.status.padEnd(8)} ${n.lastHeartbeatAt ?? '-'}`,
          )
          .join('\n') || 'no nodes',
        { items: list },
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`causeway-cp: ${error.message}. Try --help.\n`);
      process.exit(64);
    }
    if (error instanceof ConfigError || error instanceof CausewayError) {
      process.stderr.write(`causeway-cp: ${error.message}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
    process.stderr.write(
      `causeway-cp: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
