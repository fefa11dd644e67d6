import { z } from 'zod';

/**
 * Wire format of the service bridge, version 1. A change of wire format is a new version with
 * the read side shipped first; receivers validate every message against these schemas and
 * dead-letter what does not match instead of guessing.
 */
export const ENVELOPE_VERSION = 1 as const;

/** Request ids travel from HTTP into logs on both sides; keep them printable and short. */
export const requestIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'request ids use letters, digits and . _ : - only');

export const nodeIdSchema = z.uuid();

/** Where results of outbox commands go: a queue shared by all control-plane instances. */
export const COMMAND_RESULTS_ROUTE = 'command-results';

/**
 * Reply routes are fixed-shape so a request cannot steer a node's reply to another route:
 * either one control-plane instance's reply queue or the shared command-results queue.
 */
export const replyRouteSchema = z.string().regex(/^(reply\.[a-z0-9-]{1,64}|command-results)$/);

export const methodNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)*$/)
  .max(64);

export const requestEnvelopeSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  type: z.literal('request'),
  id: z.uuid(),
  requestId: requestIdSchema,
  method: methodNameSchema,
  /** Epoch milliseconds after which the caller has given up; the node drops the request then. */
  deadline: z.number().int().positive(),
  sentAt: z.iso.datetime(),
  replyTo: replyRouteSchema,
  payload: z.unknown(),
});
export type RequestEnvelope = z.infer<typeof requestEnvelopeSchema>;

/** Most keys an error's `details` may carry across the bridge. */
const MAX_DETAIL_KEYS = 16;
const detailKeySchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/);
const detailValueSchema = z.union([
  z.string().max(256),
  z.number().finite(),
  z.boolean(),
  z.null(),
]);

/**
 * Machine-readable facts about an error (`reason`, `received`, `size`...): a small flat object of
 * scalars, never a secret. Added to wire version 1 as an optional field: readers (the control
 * plane) accept it before any node sends it, so the read side ships first.
 */
export const remoteErrorDetailsSchema = z
  .record(detailKeySchema, detailValueSchema)
  .refine((d) => Object.keys(d).length <= MAX_DETAIL_KEYS, {
    message: `at most ${MAX_DETAIL_KEYS} details`,
  });
export type RemoteErrorDetails = z.infer<typeof remoteErrorDetailsSchema>;

export const remoteErrorSchema = z.strictObject({
  code: z.string().min(1).max(64),
  message: z.string().max(1000),
  details: remoteErrorDetailsSchema.optional(),
});

/**
 * The part of an error's details that may cross the bridge: scalar values under well-formed
 * keys (strings cut to 256 characters), at most 16; undefined when nothing is left. A sender
 * must never produce a reply its reader would dead-letter.
 */
export function wireDetails(
  details: Record<string, unknown> | undefined,
): RemoteErrorDetails | undefined {
  if (!details) return undefined;
  const out: RemoteErrorDetails = {};
  for (const [key, value] of Object.entries(details)) {
    if (Object.keys(out).length >= MAX_DETAIL_KEYS) break;
    if (!detailKeySchema.safeParse(key).success) continue;
    if (typeof value === 'string') out[key] = value.slice(0, 256);
    else if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
    else if (typeof value === 'boolean' || value === null) out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const replyBase = {
  v: z.literal(ENVELOPE_VERSION),
  type: z.literal('reply'),
  id: z.uuid(),
  inReplyTo: z.uuid(),
  requestId: requestIdSchema,
  nodeId: nodeIdSchema,
  sentAt: z.iso.datetime(),
};

export const replyEnvelopeSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ...replyBase, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ...replyBase, ok: z.literal(false), error: remoteErrorSchema }),
]);
export type ReplyEnvelope = z.infer<typeof replyEnvelopeSchema>;

export const heartbeatSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  type: z.literal('heartbeat'),
  nodeId: nodeIdSchema,
  /** `stopping` is sent once on a graceful shutdown so the node shows offline at once. */
  state: z.enum(['up', 'stopping']),
  sentAt: z.iso.datetime(),
  startedAt: z.iso.datetime(),
  version: z.string().max(64),
  hostname: z.string().max(255),
  intervalMs: z.number().int().positive(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;
