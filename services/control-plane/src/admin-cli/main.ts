#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from './api-client';

const HELP = `causeway: administer Causeway through its API

Usage:
  causeway nodes list [--tenant S]
  causeway nodes ping NODE_ID
  causeway workspaces list --tenant S
  causeway workspaces create --tenant S --name N --node NODE_ID
  causeway join-tokens create --tenant S [--ttl SECONDS]
  causeway join-tokens list --tenant S
  causeway join-tokens revoke --tenant S ID
  causeway dead-letters list [--node NODE_ID] [--limit N]
  causeway dead-letters show ID
  causeway dead-letters replay ID
  causeway signing-keys list
  causeway signing-keys rotate
  causeway roles list --tenant S
  causeway roles create --tenant S --name N --template T [--permissions a,b] [--description D]
  causeway roles delete --tenant S --name N
  causeway roles assign --tenant S --role R (--user ID | --group G) [--workspace W [--folder F]]
  causeway roles assignments --tenant S [--user ID | --group G] [--workspace W]
  causeway roles unassign --tenant S --id ASSIGNMENT_ID
  causeway access explain --tenant S --user ID --permission P [--workspace W] [--folder F]
  causeway users list --tenant S
  causeway users add --tenant S --email E [--name N] [--partner]
  causeway users disable --tenant S --user ID
  causeway users enable --tenant S --user ID
  causeway keys rotate --tenant S --workspace W
  causeway keys status --tenant S --workspace W

Options:
  --url URL     the control plane (default $CAUSEWAY_URL or http://127.0.0.1:8080)
  --json        print the API's JSON answer
  --help        show this help

Roles are assigned on the tenant (no --workspace), a workspace (--workspace) or a folder of it
(--workspace and --folder). You can only assign roles whose permissions you hold there.

The bearer token comes from $CAUSEWAY_TOKEN. Exit codes: 0 done, 1 the API refused or failed,
64 wrong usage.`;

class UsageError extends Error {}

type Flags = {
  url?: string;
  json: boolean;
  tenant?: string;
  name?: string;
  node?: string;
  limit?: string;
  ttl?: string;
  template?: string;
  permissions?: string;
  description?: string;
  role?: string;
  user?: string;
  group?: string;
  workspace?: string;
  folder?: string;
  id?: string;
  permission?: string;
  email?: string;
  partner: boolean;
};

function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} is required`);
  return value;
}

type Row = Record<string, unknown>;
const table = (rows: Row[], columns: string[]): string =>
  rows.length === 0
    ? '(none)'
    : rows.map((r) => columns.map((c) => cell(r[c])).join('  ')).join('\n');

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function oneOf(
  user: string | undefined,
  group: string | undefined,
): { user: string } | { group: string } {
  if ((user === undefined) === (group === undefined)) {
    throw new UsageError('name exactly one of --user and --group');
  }
  return user !== undefined ? { user } : { group: group as string };
}

/** The scope of an assignment: the tenant, a workspace, or a folder of one. */
function scopeFrom(flags: Flags): Row {
  if (flags.folder !== undefined && flags.workspace === undefined) {
    throw new UsageError('--folder needs --workspace');
  }
  if (flags.workspace === undefined) return { type: 'tenant' };
  if (flags.folder === undefined) return { type: 'workspace', workspaceId: flags.workspace };
  return { type: 'folder', workspaceId: flags.workspace, folder: flags.folder };
}

function scopeText(value: unknown): string {
  const s = (value ?? {}) as { type?: string; workspaceId?: string; folder?: string };
  if (s.type === 'workspace') return `workspace ${cell(s.workspaceId)}`;
  if (s.type === 'folder') return `folder ${cell(s.folder)} of workspace ${cell(s.workspaceId)}`;
  return 'the tenant';
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      tenant: { type: 'string' },
      name: { type: 'string' },
      node: { type: 'string' },
      limit: { type: 'string' },
      ttl: { type: 'string' },
      template: { type: 'string' },
      permissions: { type: 'string' },
      description: { type: 'string' },
      role: { type: 'string' },
      user: { type: 'string' },
      group: { type: 'string' },
      workspace: { type: 'string' },
      folder: { type: 'string' },
      id: { type: 'string' },
      permission: { type: 'string' },
      email: { type: 'string' },
      partner: { type: 'boolean', default: false },
    },
  });
  const flags = values as Flags & { help: boolean };
  if (flags.help || positionals.length === 0) {
    process.stdout.write(`${HELP}\n`);
    return flags.help ? 0 : 64;
  }
  const token = process.env.CAUSEWAY_TOKEN;
  if (!token) throw new UsageError('set CAUSEWAY_TOKEN to your API token');
  const api = new ApiClient(
    flags.url ?? process.env.CAUSEWAY_URL ?? 'http://127.0.0.1:8080',
    token,
  );
  const [area, verb, arg] = positionals;
  const out = (data: unknown, human: string): void => {
    process.stdout.write(`${flags.json ? JSON.stringify(data, null, 2) : human}\n`);
  };
  const q = (params: Record<string, string | undefined>): string => {
    const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
    return entries.length ? `?${new URLSearchParams(entries).toString()}` : '';
  };

  const tenantPath = (): string =>
    `/api/v1/tenants/${encodeURIComponent(need(flags.tenant, '--tenant'))}`;

  switch (`${area} ${verb}`) {
    case 'nodes list': {
      const data = await api.call<{ items: Row[] }>(
        'GET',
        `/api/v1/nodes${q({ tenant: flags.tenant })}`,
      );
      out(data, table(data.items, ['id', 'name', 'status', 'lastHeartbeatAt']));
      return 0;
    }
    case 'nodes ping': {
      const data = await api.call<Row>(
        'POST',
        `/api/v1/nodes/${encodeURIComponent(need(arg, 'NODE_ID'))}/ping`,
        {},
      );
      out(data, `pong from ${String(data.nodeId)} in ${String(data.roundTripMs)} ms`);
      return 0;
    }
    case 'workspaces list': {
      const tenant = encodeURIComponent(need(flags.tenant, '--tenant'));
      const data = await api.call<{ items: Row[] }>('GET', `/api/v1/tenants/${tenant}/workspaces`);
      out(data, table(data.items, ['id', 'name', 'state', 'nodeId']));
      return 0;
    }
    case 'workspaces create': {
      const tenant = encodeURIComponent(need(flags.tenant, '--tenant'));
      const body = { name: need(flags.name, '--name'), node: need(flags.node, '--node') };
      const data = await api.call<Row>('POST', `/api/v1/tenants/${tenant}/workspaces`, body);
      out(data, `workspace ${String(data.id)} accepted (${String(data.state)})`);
      return 0;
    }
    case 'join-tokens create': {
      const tenant = encodeURIComponent(need(flags.tenant, '--tenant'));
      const body = flags.ttl === undefined ? {} : { ttlSeconds: Number(flags.ttl) };
      const data = await api.call<Row>('POST', `/api/v1/tenants/${tenant}/join-tokens`, body);
      out(
        data,
        `${cell(data.token)}\n(one-time, expires ${cell(data.expiresAt)}; shown only now: pass it to causeway-node enroll)`,
      );
      return 0;
    }
    case 'join-tokens list': {
      const tenant = encodeURIComponent(need(flags.tenant, '--tenant'));
      const data = await api.call<{ items: Row[] }>('GET', `/api/v1/tenants/${tenant}/join-tokens`);
      out(data, table(data.items, ['id', 'state', 'expiresAt', 'usedByNode']));
      return 0;
    }
    case 'join-tokens revoke': {
      const tenant = encodeURIComponent(need(flags.tenant, '--tenant'));
      const id = encodeURIComponent(need(arg, 'ID'));
      const data = await api.call<Row>('DELETE', `/api/v1/tenants/${tenant}/join-tokens/${id}`);
      out(data, `join token ${cell(data.id)} ${cell(data.state)}`);
      return 0;
    }
    case 'dead-letters list': {
      const data = await api.call<{ items: Row[] }>(
        'GET',
        `/api/v1/admin/dead-letters${q({ node: flags.node, limit: flags.limit })}`,
      );
      out(
        data,
        table(data.items, ['id', 'receivedAt', 'reason', 'nodeId', 'attempts', 'replayCount']),
      );
      return 0;
    }
    case 'dead-letters show': {
      const data = await api.call<Row>(
        'GET',
        `/api/v1/admin/dead-letters/${encodeURIComponent(need(arg, 'ID'))}`,
      );
      out(data, JSON.stringify(data, null, 2));
      return 0;
    }
    case 'dead-letters replay': {
      const data = await api.call<Row>(
        'POST',
        `/api/v1/admin/dead-letters/${encodeURIComponent(need(arg, 'ID'))}/replay`,
      );
      out(
        data,
        `replayed to ${String(data.sourceQueue)} (${String(data.replayCount)} time(s) so far)`,
      );
      return 0;
    }
    case 'signing-keys list': {
      const data = await api.call<{ items: Row[] }>('GET', '/api/v1/admin/signing-keys');
      out(data, table(data.items, ['kid', 'status', 'activatedAt', 'retiredAt', 'trusted']));
      return 0;
    }
    case 'signing-keys rotate': {
      const data = await api.call<Row>('POST', '/api/v1/admin/signing-keys/rotate');
      out(
        data,
        `signing key ${cell(data.kid)} active, ${cell(data.retired)} retired; ${cell(data.nodesUpdated)} node(s) updated, ${cell(data.nodesMissed)} will catch up on their next request`,
      );
      return 0;
    }
    case 'roles list': {
      const data = await api.call<{ items: Row[] }>('GET', `${tenantPath()}/roles`);
      out(
        data,
        table(
          data.items.map((r) => ({
            ...r,
            kind: r.builtIn ? 'built-in' : `custom (${cell(r.template)})`,
            scopes: (r.assignableScopes as string[]).join(','),
            permissions: (r.permissions as string[]).join(','),
          })),
          ['name', 'kind', 'scopes', 'permissions'],
        ),
      );
      return 0;
    }
    case 'roles create': {
      const body = {
        name: need(flags.name, '--name'),
        template: need(flags.template, '--template'),
        ...(flags.permissions === undefined ? {} : { permissions: list(flags.permissions) }),
        ...(flags.description === undefined ? {} : { description: flags.description }),
      };
      const data = await api.call<Row>('POST', `${tenantPath()}/roles`, body);
      out(
        data,
        `role ${cell(data.name)} created from ${cell(data.template)}: ${(data.permissions as string[]).join(', ')}`,
      );
      return 0;
    }
    case 'roles delete': {
      const name = need(flags.name, '--name');
      await api.call('DELETE', `${tenantPath()}/roles/${encodeURIComponent(name)}`);
      out({ deleted: name }, `role ${name} deleted, with its assignments`);
      return 0;
    }
    case 'roles assign': {
      const principal = oneOf(flags.user, flags.group);
      const body = { role: need(flags.role, '--role'), ...principal, scope: scopeFrom(flags) };
      const data = await api.call<Row>('POST', `${tenantPath()}/role-assignments`, body);
      out(
        data,
        `assignment ${cell(data.id)}: ${cell(data.role)} to ${cell(data.principal)} on ${scopeText(data.scope)}`,
      );
      return 0;
    }
    case 'roles assignments': {
      const data = await api.call<{ items: Row[] }>(
        'GET',
        `${tenantPath()}/role-assignments${q({ user: flags.user, group: flags.group, workspace: flags.workspace })}`,
      );
      out(
        data,
        table(
          data.items.map((a) => ({ ...a, on: scopeText(a.scope) })),
          ['id', 'role', 'principal', 'on', 'createdBy'],
        ),
      );
      return 0;
    }
    case 'roles unassign': {
      const id = need(flags.id ?? arg, '--id');
      await api.call('DELETE', `${tenantPath()}/role-assignments/${encodeURIComponent(id)}`);
      out({ removed: id }, `assignment ${id} removed`);
      return 0;
    }
    case 'access explain': {
      const data = await api.call<Row>(
        'GET',
        `${tenantPath()}/access/explain${q({
          user: need(flags.user, '--user'),
          permission: need(flags.permission, '--permission'),
          workspace: flags.workspace,
          folder: flags.folder,
        })}`,
      );
      out(data, `${data.allowed ? 'ALLOWED' : 'DENIED'}: ${cell(data.explanation)}`);
      return 0;
    }
    case 'users list': {
      const data = await api.call<{ items: Row[] }>('GET', `${tenantPath()}/users`);
      out(
        data,
        table(
          data.items.map((u) => ({ ...u, state: u.disabled ? 'disabled' : 'active' })),
          ['id', 'email', 'displayName', 'kind', 'state'],
        ),
      );
      return 0;
    }
    case 'users add': {
      const body = {
        email: need(flags.email, '--email'),
        ...(flags.name === undefined ? {} : { displayName: flags.name }),
        kind: flags.partner ? 'partner' : 'member',
      };
      const data = await api.call<Row>('POST', `${tenantPath()}/users`, body);
      out(data, `${cell(data.kind)} ${cell(data.email)} added: ${cell(data.id)}`);
      return 0;
    }
    case 'users disable':
    case 'users enable': {
      const id = encodeURIComponent(need(flags.user ?? arg, '--user'));
      const data = await api.call<Row>('POST', `${tenantPath()}/users/${id}/${verb}`);
      out(
        data,
        `${cell(data.email)} ${data.disabled ? 'disabled (signed out everywhere)' : 'enabled'}`,
      );
      return 0;
    }
    case 'keys rotate': {
      const ws = encodeURIComponent(need(flags.workspace, '--workspace'));
      const data = await api.call<Row>('POST', `${tenantPath()}/workspaces/${ws}/keys/rotate`);
      out(
        data,
        `master key version ${cell(data.keyVersion)} active; re-wrap job ${cell(data.jobId)} ${cell(data.state)} (follow it with "causeway keys status")`,
      );
      return 0;
    }
    case 'keys status': {
      const ws = encodeURIComponent(need(flags.workspace, '--workspace'));
      const data = await api.call<Row & { jobs: Row[] }>(
        'GET',
        `${tenantPath()}/workspaces/${ws}/keys`,
      );
      out(
        data,
        `active version ${cell(data.activeVersion)}, rotated ${cell(data.rotatedAt)}, period ${cell(data.rotationDays)} day(s), next ${cell(data.nextRotationDueAt)}\n` +
          table(data.jobs, [
            'jobId',
            'state',
            'keyVersion',
            'rewrapped',
            'startedAt',
            'finishedAt',
          ]),
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`causeway: ${error.message}. Try --help.\n`);
      process.exit(64);
    }
    if (error instanceof ApiError) {
      const id = error.requestId ? ` (request id ${error.requestId})` : '';
      process.stderr.write(`causeway: ${error.message} [${error.code}]${id}\n`);
      process.exit(1);
    }
    process.stderr.write(`causeway: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
