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

export const remoteErrorSchema = z.strictObject({
  code: z.string().min(1).max(64),
  message: z.string().max(1000),
});

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
