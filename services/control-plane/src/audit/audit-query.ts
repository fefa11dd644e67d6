import * as ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { AUDIT_EVENTS, AUDIT_EVENT_TYPES, type AuditEventSpec } from '@causeway/audit';
import { CausewayError } from '@causeway/contracts';

/** Categories of the catalogue, as they are now (the catalogue is the only source). */
export const AUDIT_CATEGORIES: readonly string[] = [
  ...new Set(Object.values(AUDIT_EVENTS as Record<string, AuditEventSpec>).map((e) => e.category)),
];

const CATALOGUE = AUDIT_EVENTS as Record<string, AuditEventSpec | undefined>;

/** The event types of the given categories. */
export function typesOfCategories(categories: readonly string[]): string[] {
  return Object.keys(CATALOGUE).filter((t) => categories.includes(CATALOGUE[t]?.category ?? ''));
}

/** The catalogue entry of a stored type, or a neutral one for a type the catalogue no longer has. */
export function specOf(type: string): { category: string; severity: string } {
  return CATALOGUE[type] ?? { category: 'unknown', severity: 'notice' };
}

/**
 * ISO 8601: a date (midnight UTC) or a date and time with `Z` or an offset. A time without an
 * offset is refused: whose midnight would it be?
 */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

const instant = (field: string) =>
  z
    .string()
    // An unencoded `+02:00` in a URL arrives as ` 02:00`.
    .transform((text) => text.replace(/ (\d{2}:\d{2})$/, '+$1'))
    .pipe(
      z.string().regex(ISO_8601, {
        message: `"${field}" must be an ISO 8601 date or date-time with a time zone, e.g. 2026-12-02T10:00:00Z`,
      }),
    )
    .transform((text, ctx) => {
      const date = new Date(text);
      if (Number.isNaN(date.getTime())) {
        ctx.addIssue({ code: 'custom', message: `"${field}" is not a real date` });
        return z.NEVER;
      }
      return date;
    });

/** `a,b` or `a&…&a` (repeated): one list either way. */
function splitList(value: unknown): unknown {
  if (value === undefined) return undefined;
  const values: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
  const parts: unknown[] = values.flatMap((v): unknown[] =>
    typeof v === 'string' ? v.split(',') : [v],
  );
  return parts.map((p) => (typeof p === 'string' ? p.trim() : p)).filter((p) => p !== '');
}

const oneOrSeveral = (field: string, values: readonly string[]) =>
  z.preprocess(
    splitList,
    z
      .array(
        z.string().refine((v) => values.includes(v), {
          message: `"${field}" names an unknown value; see the catalogue in docs/admin/audit-events.md`,
        }),
      )
      .min(1, { message: `"${field}" is empty` })
      .max(100, { message: `"${field}" lists more than 100 values` })
      .optional(),
  );

/** A network the `ip` filter matches: an exact address or a CIDR, in canonical text. */
export function networkOf(text: string): string | undefined {
  const value = text.trim();
  if (value.includes('%')) return undefined;
  const slash = value.indexOf('/');
  const addressText = slash === -1 ? value : value.slice(0, slash);
  const prefixText = slash === -1 ? undefined : value.slice(slash + 1);
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(addressText);
  if (!v4 && !(addressText.includes(':') && ipaddr.IPv6.isValid(addressText))) return undefined;
  let address: ipaddr.IPv4 | ipaddr.IPv6 = v4
    ? ipaddr.IPv4.parse(addressText)
    : ipaddr.IPv6.parse(addressText);
  const bits = address.kind() === 'ipv4' ? 32 : 128;
  if (prefixText !== undefined && !/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  let prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  // The trail stores IPv4 clients as IPv4, however the socket reported them.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    prefix -= 96;
  }
  const network = ipaddr.fromByteArray(
    address.toByteArray().map((b, i) => {
      const keep = Math.max(0, Math.min(8, prefix - i * 8));
      return b & ((0xff << (8 - keep)) & 0xff);
    }),
  );
  const shown =
    network.kind() === 'ipv6' ? (network as ipaddr.IPv6).toRFC5952String() : network.toString();
  return `${shown}/${prefix}`;
}

const filterFields = {
  type: oneOrSeveral('type', AUDIT_EVENT_TYPES),
  category: oneOrSeveral('category', AUDIT_CATEGORIES),
  outcome: z
    .enum(['success', 'failure'], { message: '"outcome" must be success or failure' })
    .optional(),
  actor: z
    .string()
    .min(1, { message: '"actor" is empty' })
    .max(300, { message: '"actor" is longer than 300 characters' })
    .optional(),
  from: instant('from').optional(),
  to: instant('to').optional(),
  workspace: z.uuid({ message: '"workspace" must be a workspace id (a UUID)' }).optional(),
  ip: z
    .string()
    .max(100, { message: '"ip" is longer than 100 characters' })
    .transform((text, ctx) => {
      const network = networkOf(text);
      if (network === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: '"ip" must be an IPv4 or IPv6 address or CIDR, e.g. 203.0.113.0/24',
        });
        return z.NEVER;
      }
      return network;
    })
    .optional(),
  /** Events after this sequence number (for paging). */
  after: z.coerce
    .number({ message: '"after" must be a whole number' })
    .int({ message: '"after" must be a whole number' })
    .min(0, { message: '"after" must be 0 or more' })
    .optional(),
};

function timeRangeInOrder(
  q: { from?: Date | undefined; to?: Date | undefined },
  ctx: z.RefinementCtx,
) {
  if (q.from && q.to && q.from.getTime() > q.to.getTime()) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: '"to" is before "from"' });
  }
}

/** `GET …/audit-events`: filters and one page. */
export const auditListQuerySchema = z
  .strictObject({
    ...filterFields,
    limit: z.coerce
      .number({ message: '"limit" must be a whole number from 1 to 1000' })
      .int({ message: '"limit" must be a whole number from 1 to 1000' })
      .min(1, { message: '"limit" must be a whole number from 1 to 1000' })
      .max(1000, { message: '"limit" must be a whole number from 1 to 1000' })
      .default(100),
  })
  .superRefine(timeRangeInOrder);

/** `GET …/audit-events/export`: the same filters, a format, and an optional cap. */
export const auditExportQuerySchema = z
  .strictObject({
    ...filterFields,
    format: z.enum(['csv', 'jsonl'], { message: '"format" must be csv or jsonl' }),
    limit: z.coerce
      .number({ message: '"limit" must be a whole number from 1 to 10000000' })
      .int({ message: '"limit" must be a whole number from 1 to 10000000' })
      .min(1, { message: '"limit" must be a whole number from 1 to 10000000' })
      .max(10_000_000, { message: '"limit" must be a whole number from 1 to 10000000' })
      .optional(),
  })
  .superRefine(timeRangeInOrder);

export type AuditListQuery = z.infer<typeof auditListQuerySchema>;
export type AuditExportQuery = z.infer<typeof auditExportQuerySchema>;
export type AuditFilters = Omit<AuditListQuery, 'limit'>;

/**
 * The filters of a read as its audit record keeps them: `filters` as query text (the actor
 * apart, in `actorFilter`, so that a pseudonymised view of the record can hide it).
 */
export function describeFilters(q: AuditFilters & { limit?: number | undefined }): {
  filters: string;
  actorFilter?: string;
} {
  const parts: string[] = [];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined) parts.push(`${name}=${value}`);
  };
  add('type', q.type?.join(','));
  add('category', q.category?.join(','));
  add('outcome', q.outcome);
  add('from', q.from?.toISOString());
  add('to', q.to?.toISOString());
  add('workspace', q.workspace);
  add('ip', q.ip);
  add('after', q.after);
  add('limit', q.limit);
  return { filters: parts.join('&'), ...(q.actor === undefined ? {} : { actorFilter: q.actor }) };
}

/**
 * Validates a query, answering 400 `validation_failed` with a sentence that names the field
 * (the first problem; every problem is in `details.issues`).
 */
export function parseAuditQuery<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => {
    const unknownKeys = i.code === 'unrecognized_keys' ? i.keys : undefined;
    return {
      field: unknownKeys?.join(',') ?? (i.path.join('.') || '(root)'),
      problem: unknownKeys
        ? `unknown filter ${unknownKeys.map((k) => `"${k}"`).join(', ')}`
        : i.message,
    };
  });
  const first = issues[0];
  const sentence = first
    ? /^"/.test(first.problem) || first.problem.startsWith('unknown filter')
      ? first.problem
      : `"${first.field}": ${first.problem}`
    : 'the query is not valid';
  throw new CausewayError('validation_failed', `The audit query is not valid: ${sentence}.`, {
    issues,
  });
}

/** A WHERE clause with its parameters, always scoped to one tenant. */
export interface AuditWhere {
  sql: string;
  params: unknown[];
}

/**
 * The WHERE clause of a query in one tenant. `actors` is the actor filter already resolved (a
 * pseudonym becomes the identities behind it); undefined means no actor filter.
 */
export function whereOf(
  tenantId: string,
  f: AuditFilters,
  actors: readonly string[] | undefined,
): AuditWhere {
  const params: unknown[] = [tenantId];
  const conditions = ['tenant_id = $1'];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${params.length}`));
  };
  if (f.type) add((p) => `type = ANY(${p}::text[])`, f.type);
  if (f.category) add((p) => `type = ANY(${p}::text[])`, typesOfCategories(f.category));
  if (f.outcome) add((p) => `outcome = ${p}`, f.outcome);
  if (actors) add((p) => `actor = ANY(${p}::text[])`, actors);
  if (f.from) add((p) => `occurred_at >= ${p}`, f.from);
  if (f.to) add((p) => `occurred_at < ${p}`, f.to);
  if (f.workspace) add((p) => `details->>'workspaceId' = ${p}`, f.workspace);
  if (f.ip) add((p) => `audit_ip_inet(ip) <<= ${p}::inet`, f.ip);
  if (f.after !== undefined) add((p) => `seq > ${p}`, f.after);
  return { sql: conditions.join(' AND '), params };
}
