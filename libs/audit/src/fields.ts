import { z } from 'zod';

/**
 * Building blocks for the `fields` schema of each catalogue entry. Values are identifiers,
 * names, counts, flags and reason codes: never a secret, a token, a typed code or a password,
 * which is why each schema is strict (a field the catalogue does not name is refused).
 */
export type AuditFieldValue = string | number | boolean | null;
export type AuditFieldsSchema = z.ZodType<Record<string, AuditFieldValue | undefined>>;

export const text = z.string().max(4000);
export const ident = z.string().min(1).max(400);
export const count = z.number().int().min(0);
export const int = z.number().int();
export const flag = z.boolean();

/** An optional field that may also be recorded as null. */
export function opt<T extends z.ZodType>(schema: T) {
  return schema.nullable().optional();
}

/** A strict object of the named fields: anything else in a record is a programming error. */
export function fields(shape: Record<string, z.ZodType>): AuditFieldsSchema {
  return z.strictObject(shape) as unknown as AuditFieldsSchema;
}

export const noFields: AuditFieldsSchema = fields({});

/** Who asked the node: from the verified delegation (never the token itself). */
export const nodeCaller = {
  subject: opt(text),
  tenantId: opt(text),
  requestId: opt(text),
};

/** What a control-plane route names (path parameters) and how many items it answered. */
export const routeFields = {
  tenant: opt(ident),
  workspaceId: opt(ident),
  nodeId: opt(ident),
  userId: opt(ident),
  id: opt(ident),
  role: opt(ident),
  method: opt(ident),
  count: opt(count),
};

/** The fields of file and upload events, on the control plane and on the node. */
export const fileFields = {
  ...nodeCaller,
  workspaceId: opt(ident),
  fileId: opt(ident),
  uploadId: opt(ident),
  folder: opt(text),
  name: opt(text),
  from: opt(text),
  version: opt(int),
  versions: opt(count),
  bytes: opt(count),
  size: opt(count),
  offset: opt(count),
  received: opt(count),
  range: opt(text),
  sha256: opt(ident),
  dropped: opt(z.union([flag, count])),
  count: opt(count),
  reason: opt(ident),
};

/** Any identifiers and counts, for an entry that has not named its fields yet. */
export const scalarFields: AuditFieldsSchema = z.record(
  z.string(),
  z.union([z.string().max(4000), z.number(), z.boolean(), z.null()]),
);

/*
 * Anomaly alerts (services/control-plane/src/alerts). The webhook's signing secret and the
 * signature of a call are never fields: they would be readable by every auditor.
 */

/** The fields every alert event carries: which alert, which rule raised it, about whom. */
export function alertFields<R extends string>(rule: R) {
  return { alertId: ident, rule: z.literal(rule), subject: ident };
}

/** Comma-separated CIDRs: up to 500 canonical networks, so longer than `text`. */
export const networkList = z.string().max(25_000);

/**
 * A burst of failed sign-ins counts for one account (`account`) or from one address
 * (`address`): exactly the one `by` names.
 */
export const alertSignInBurstFields = z
  .strictObject({
    ...alertFields('sign_in.burst'),
    by: z.enum(['account', 'address']),
    account: ident.optional(),
    address: ident.optional(),
    failures: count,
    windowMinutes: count,
  })
  .refine(
    (d) =>
      (d.by === 'account') === (d.account !== undefined) &&
      (d.by === 'address') === (d.address !== undefined),
    { message: '`by` names the one of `account` or `address` that is given' },
  ) as unknown as AuditFieldsSchema;

/** Where an alert is sent. */
export const alertChannel = z.enum(['webhook', 'email']);
