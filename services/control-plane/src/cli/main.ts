#!/usr/bin/env node
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
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
import { AuditTrailService } from '../audit/audit-trail.service';
import { TenantAdminService } from '../tenant-admin/tenant-admin.service';
import { TenantsService } from '../tenants/tenants.service';
import { UsersRepository } from '../users/users.repository';
import { PasswordSignInService } from '../identity/local-sign-in/password-sign-in.service';
import { SignInPolicyService } from '../identity/sign-in-policy/sign-in-policy.service';
import { AuditService } from '../audit/audit.service';

const HELP = `causeway-cp: control-plane operator commands (run where the control plane runs)

Usage:
  causeway-cp migrate                                     apply pending database migrations
  causeway-cp tenants create --slug S --name N --region R [--owner-email E] [--owner-name N]
                                                          create a tenant (E: its first owner)
  causeway-cp tenants list                                every tenant with its region
  causeway-cp join-tokens create --tenant S [--ttl SEC]   a one-time token that enrols a node in tenant S
  causeway-cp nodes credentials --node ID                 give a node a new broker password
  causeway-cp nodes revoke --node ID                      cut a node off the broker at once
  causeway-cp nodes list [--tenant S]                     list nodes with their state
  causeway-cp users create --tenant S --email E [--name N] [--password-file F]
                                                          add a user (F: a file holding a first password)
  causeway-cp sign-in-policy set --tenant S [--passwords on|off] [--email-codes on|off]
                                 [--second-factor required|optional]
                                                          change how the tenant's users may sign in
  causeway-cp signing-keys list                           the control plane's delegation signing keys
  causeway-cp signing-keys rotate                         rotate the delegation signing key (no downtime)
  causeway-cp audit verify [--tenant S]                   check the audit chains, live and archived; exit 1 on any problem

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
  email?: string;
  'password-file'?: string;
  passwords?: string;
  'email-codes'?: string;
  'second-factor'?: string;
  'owner-email'?: string;
  'owner-name'?: string;
};

/** An on/off flag's value, or undefined when not given. */
function onOff(flags: Flags, name: 'passwords' | 'email-codes'): boolean | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (value !== 'on' && value !== 'off') throw new UsageError(`--${name} takes on or off`);
  return value === 'on';
}

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

/** The command being run (its words, never its flags), for the audit record. */
let cliCommand = '';

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
    // Commands that act on the control plane directly (not through its API) are recorded too.
    await app.get(AuditService).record({
      tenantId: null,
      type: 'admin.cli.command_run',
      outcome: 'success',
      actor: 'operator:cli',
      details: { command: cliCommand },
    });
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

/** What a validation error found wrong, one "field: problem" each, for the operator. */
function problemsOf(error: Error): string {
  const issues = error instanceof CausewayError ? error.details?.['issues'] : undefined;
  if (!Array.isArray(issues)) return '';
  return issues
    .map((i: { field?: unknown; problem?: unknown }) => ` ${String(i.field)}: ${String(i.problem)}`)
    .join(';');
}

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
      email: { type: 'string' },
      'password-file': { type: 'string' },
      passwords: { type: 'string' },
      'email-codes': { type: 'string' },
      'second-factor': { type: 'string' },
      'owner-email': { type: 'string' },
      'owner-name': { type: 'string' },
    },
  });
  const flags = values as Flags & { help: boolean };
  const command = positionals.join(' ');
  cliCommand = command;
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
      const ownerEmail = flags['owner-email'];
      if (ownerEmail === undefined && flags['owner-name'] !== undefined) {
        throw new UsageError('--owner-name goes with --owner-email');
      }
      const input = {
        slug: required(flags, 'slug'),
        name: required(flags, 'name'),
        region: required(flags, 'region'),
        ...(ownerEmail === undefined
          ? {}
          : {
              owner: {
                email: ownerEmail,
                ...(flags['owner-name'] === undefined ? {} : { displayName: flags['owner-name'] }),
              },
            }),
      };
      const tenant = await withServices((_t, _n, app) =>
        app.get(TenantAdminService).create(input, 'operator:cli'),
      );
      print(
        `tenant ${tenant.slug} created (id ${tenant.id}, region ${tenant.region})${
          tenant.owner ? `\nowner ${tenant.owner.email} (id ${tenant.owner.id})` : ''
        }`,
        tenant,
      );
      return 0;
    }
    case 'tenants list': {
      const list = await withServices((_t, _n, app) => app.get(TenantAdminService).list());
      print(
        list
          .map((t) => `${t.id}  ${t.slug.padEnd(24)} ${t.region.padEnd(12)} ${t.name}`)
          .join('\n') || 'no tenants',
        { items: list },
      );
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
    case 'users create': {
      const slug = required(flags, 'tenant');
      const email = required(flags, 'email');
      // From a file, never from the command line (visible to every user of the machine).
      const passwordFile = flags['password-file'];
      const password =
        passwordFile === undefined ? undefined : readFileSync(passwordFile, 'utf8').trim();
      const user = await withServices(async (tenants, _n, app) => {
        const tenant = await tenants.getBySlug(slug);
        const created = await app
          .get(UsersRepository)
          .findOrCreate(tenant.id, email, flags.name ?? null, new Date());
        if (password !== undefined) {
          await app
            .get(PasswordSignInService)
            .setByOperator(tenant.id, created.id, password, 'operator:cli');
        }
        return created;
      });
      print(`user ${user.email} (id ${user.id}) in tenant ${slug}`, {
        id: user.id,
        tenantId: user.tenant_id,
        email: user.email,
        displayName: user.display_name,
        passwordSet: password !== undefined,
      });
      return 0;
    }
    case 'sign-in-policy set': {
      const slug = required(flags, 'tenant');
      const second = flags['second-factor'];
      if (second !== undefined && second !== 'required' && second !== 'optional') {
        throw new UsageError('--second-factor takes required or optional');
      }
      const change = {
        passwordsAllowed: onOff(flags, 'passwords'),
        emailCodesAllowed: onOff(flags, 'email-codes'),
        requireSecondFactor: second === undefined ? undefined : second === 'required',
      };
      const policy = await withServices((_t, _n, app) =>
        app.get(SignInPolicyService).update(slug, change, 'operator:cli'),
      );
      print(
        `tenant ${slug}: passwords ${policy.passwordsAllowed ? 'on' : 'off'}, emailed codes ${policy.emailCodesAllowed ? 'on' : 'off'}, second factor ${policy.requireSecondFactor ? 'required' : 'optional'}`,
        policy,
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
    case 'audit verify': {
      const reports = await withServices(async (tenants, _n, app) => {
        const trail = app.get(AuditTrailService);
        const chains = flags.tenant
          ? [(await tenants.getBySlug(flags.tenant)).id]
          : await trail.chains();
        return Promise.all(chains.map((chain) => trail.verify(chain)));
      });
      const broken = reports.filter((r) => !r.ok);
      print(
        reports
          .map((r) =>
            [
              `${r.chain}: ${r.ok ? 'intact' : 'BROKEN'} (${r.entries} entries, ${r.segments} segments)`,
              ...r.problems.map(
                (p) =>
                  `  ${p.kind} in ${p.where}${p.segment ? ` ${p.segment}` : ''}${p.seq !== undefined ? ` at seq ${p.seq}` : ''}${p.index !== undefined ? ` (index ${p.index})` : ''}: ${p.detail}`,
              ),
            ].join('\n'),
          )
          .join('\n') || 'no audit chains yet',
        { items: reports },
      );
      return broken.length > 0 ? 1 : 0;
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
      process.stderr.write(`causeway-cp: ${error.message}${problemsOf(error)}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
    process.stderr.write(
      `causeway-cp: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
