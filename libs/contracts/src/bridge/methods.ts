import { z } from 'zod';
import type { Permission } from '../permissions';
import { signedKeySetSchema } from './trust';

/** Largest file a workspace accepts: 1 TiB. */
export const MAX_FILE_SIZE = 2 ** 40;
const fileSizeSchema = z.number().int().nonnegative().max(MAX_FILE_SIZE);
/** One path segment; the node checks the rest (UTF-8 bytes, NFC, forbidden characters). */
const fileNameSchema = z.string().min(1).max(255);
/** A canonical folder path, `/` or `/a/b`; the node checks its segments. */
const fileFolderSchema = z.string().min(1).max(1024).startsWith('/');
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);
const streamIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const instanceIdSchema = z.string().regex(/^[a-z0-9-]{1,64}$/);
/** A file as the node describes it (its current version unless said otherwise). */
const fileViewSchema = z.strictObject({
  fileId: z.uuid(),
  workspaceId: z.uuid(),
  folder: fileFolderSchema,
  name: fileNameSchema,
  version: z.number().int().positive(),
  size: fileSizeSchema,
  sha256: sha256Schema,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

/** A master key rotation's re-wrap job on the node (see services/node/src/keys). */
const rotationJobSchema = z.strictObject({
  jobId: z.uuid(),
  workspaceId: z.uuid(),
  /** running, then done; superseded by a newer rotation; cancelled when the keys were destroyed. */
  state: z.enum(['running', 'done', 'superseded', 'cancelled']),
  /** The master key version the job re-wraps data keys under. */
  keyVersion: z.number().int().positive(),
  /** Data keys re-wrapped so far. */
  rewrapped: z.number().int().nonnegative(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
});

/**
 * Every operation a node answers, with the schema of its payload and of its result. Both sides
 * import this table, so a request and its handler cannot drift apart silently.
 */
export const BRIDGE_METHODS = {
  ping: {
    mutates: false,
    permission: 'nodes.ping',
    payload: z.strictObject({ echo: z.string().max(1024).optional() }),
    result: z.strictObject({
      pong: z.literal(true),
      nodeId: z.uuid(),
      echo: z.string().max(1024).optional(),
      at: z.iso.datetime(),
    }),
  },
  'node.info': {
    mutates: false,
    permission: 'nodes.ping',
    payload: z.strictObject({}),
    result: z.strictObject({
      nodeId: z.uuid(),
      version: z.string(),
      hostname: z.string(),
      startedAt: z.iso.datetime(),
      uptimeSeconds: z.number().nonnegative(),
      runtime: z.string(),
      workspaces: z.number().int().nonnegative(),
    }),
  },
  /**
   * Creates a workspace's storage on the node. State-changing: the node records its completion
   * by message id and answers a redelivery from that record, so it is applied once.
   */
  'workspace.provision': {
    mutates: true,
    permission: 'workspaces.create',
    payload: z.strictObject({
      workspaceId: z.uuid(),
      tenantId: z.uuid(),
      name: z.string().min(1).max(200),
    }),
    result: z.strictObject({
      workspaceId: z.uuid(),
      createdAt: z.iso.datetime(),
    }),
  },
  /**
   * Deletes a workspace on the node: its keys are destroyed first (its data can no longer be
   * decrypted, even from a copy of the storage), then its objects and records. Idempotent.
   */
  'workspace.delete': {
    mutates: true,
    permission: 'workspaces.delete',
    payload: z.strictObject({ workspaceId: z.uuid(), tenantId: z.uuid() }),
    result: z.strictObject({
      workspaceId: z.uuid(),
      deletedAt: z.iso.datetime(),
      keysDestroyed: z.number().int().nonnegative(),
      objectsDeleted: z.number().int().nonnegative(),
    }),
  },
  /**
   * Sets (or, with null, removes) a workspace's storage quota in bytes; answers it with the bytes
   * the workspace uses now (files' versions plus what open uploads reserved). A quota below the
   * usage keeps what is stored and refuses new uploads. Setting a value is idempotent.
   */
  'workspace.quota.set': {
    mutates: false,
    permission: 'workspaces.manage',
    payload: z.strictObject({
      workspaceId: z.uuid(),
      tenantId: z.uuid(),
      quotaBytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
    }),
    result: z.strictObject({
      workspaceId: z.uuid(),
      quotaBytes: z.number().int().nonnegative().nullable(),
      usedBytes: z.number().int().nonnegative(),
    }),
  },
  // Workspace files (docs/design/files.md). Bytes travel over bridge streams; these calls only
  // set streams up and manage metadata. Each is idempotent by its own ids, hence not `mutates`.
  /** Starts (or, repeated, finds) a resumable upload; `received` is the committed offset. */
  'files.upload.start': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({
      workspaceId: z.uuid(),
      tenantId: z.uuid(),
      uploadId: z.uuid(),
      folder: fileFolderSchema,
      name: fileNameSchema,
      size: fileSizeSchema,
    }),
    result: z.strictObject({ uploadId: z.uuid(), received: fileSizeSchema }),
  },
  /**
   * Asks the node to take the next part of an upload from stream `streamId`, sent by
   * control-plane instance `from`. Accepted only at `offset == received`; the outcome is the
   * stream's result, then `files.upload.status`.
   */
  'files.upload.part': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({
      uploadId: z.uuid(),
      offset: fileSizeSchema,
      streamId: streamIdSchema,
      from: instanceIdSchema,
    }),
    result: z.strictObject({ accepted: z.literal(true) }),
  },
  'files.upload.status': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({ uploadId: z.uuid() }),
    result: z.strictObject({
      received: fileSizeSchema,
      size: fileSizeSchema,
      complete: z.boolean(),
    }),
  },
  /** Turns a fully received upload into a file, or a new version of the file of that name. */
  'files.upload.complete': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({ uploadId: z.uuid() }),
    result: fileViewSchema,
  },
  /**
   * Cancels an unfinished upload (tus termination, or its expiry): the node drops its committed
   * parts (data keys, then objects, then rows) and any part in progress, and releases the quota
   * it reserved. Idempotent (`dropped: false` when nothing was left); an upload that already
   * became a file is `conflict` with details `reason: upload_complete`.
   */
  'files.upload.abort': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({ uploadId: z.uuid() }),
    result: z.strictObject({ uploadId: z.uuid(), dropped: z.boolean() }),
  },
  'files.list': {
    mutates: false,
    permission: 'files.read',
    payload: z.strictObject({ workspaceId: z.uuid(), folder: fileFolderSchema }),
    result: z.strictObject({
      items: z.array(fileViewSchema),
      /** Folders directly inside this one (folders exist while a file lies somewhere in them). */
      folders: z.array(z.strictObject({ name: z.string(), path: fileFolderSchema })).default([]),
    }),
  },
  'files.stat': {
    mutates: false,
    permission: 'files.read',
    payload: z.strictObject({ workspaceId: z.uuid(), fileId: z.uuid() }),
    result: fileViewSchema,
  },
  'files.versions': {
    mutates: false,
    permission: 'files.read',
    payload: z.strictObject({ workspaceId: z.uuid(), fileId: z.uuid() }),
    result: z.strictObject({
      versions: z.array(
        z.strictObject({
          version: z.number().int().positive(),
          size: fileSizeSchema,
          sha256: sha256Schema,
          createdAt: z.iso.datetime(),
        }),
      ),
    }),
  },
  'files.rename': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({ workspaceId: z.uuid(), fileId: z.uuid(), name: fileNameSchema }),
    result: fileViewSchema,
  },
  'files.move': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({ workspaceId: z.uuid(), fileId: z.uuid(), folder: fileFolderSchema }),
    result: fileViewSchema,
  },
  /** Deletes every version's objects and data keys. A file already gone answers 0 versions. */
  'files.delete': {
    mutates: false,
    permission: 'files.write',
    payload: z.strictObject({ workspaceId: z.uuid(), fileId: z.uuid() }),
    result: z.strictObject({ fileId: z.uuid(), versionsDeleted: z.number().int().nonnegative() }),
  },
  /**
   * Sends a file (a version, or a byte range of it, ends inclusive) to control-plane instance
   * `to` over stream `streamId`. `size` is what the stream will carry.
   */
  'files.download': {
    mutates: false,
    permission: 'files.read',
    payload: z.strictObject({
      workspaceId: z.uuid(),
      fileId: z.uuid(),
      version: z.number().int().positive().optional(),
      range: z
        .strictObject({ start: fileSizeSchema, end: fileSizeSchema })
        .refine((r) => r.end >= r.start, { message: 'range end before its start' })
        .optional(),
      streamId: streamIdSchema,
      to: instanceIdSchema,
    }),
    result: z.strictObject({
      size: fileSizeSchema,
      totalSize: fileSizeSchema,
      sha256: sha256Schema,
    }),
  },
  // Workspace master keys (docs/admin/keys.md). Rotation makes a new master key version active
  // at once and re-wraps the workspace's data keys under it in a resumable job on the node.
  /**
   * Starts a rotation of a workspace's master key and answers with its re-wrap job as it
   * stands (usually `running`). Idempotent by `jobId`, chosen by the caller: a repeated request
   * answers the same job instead of rotating again.
   */
  'keys.rotate': {
    mutates: false,
    permission: 'keys.rotate',
    payload: z.strictObject({ workspaceId: z.uuid(), tenantId: z.uuid(), jobId: z.uuid() }),
    result: rotationJobSchema,
  },
  /** A workspace's keys as the node holds them: active version, period, recent re-wrap jobs. */
  'keys.status': {
    mutates: false,
    permission: 'keys.read',
    payload: z.strictObject({ workspaceId: z.uuid() }),
    result: z.strictObject({
      workspaceId: z.uuid(),
      activeVersion: z.number().int().positive(),
      /** When the workspace's first master key was made. */
      createdAt: z.iso.datetime(),
      /** When the active version was made by a rotation; null before the first rotation. */
      rotatedAt: z.iso.datetime().nullable(),
      /** Older versions still alive because a re-wrap job has not finished with them. */
      retiringVersions: z.array(z.number().int().positive()),
      /** The tenant's rotation period as the node last received it; null = never received. */
      rotationDays: z.number().int().nonnegative().nullable(),
      /** The revision of that period (see `keys.policy.set`); 0 = never received. */
      policyRevision: z.number().int().nonnegative(),
      /** When the node's scheduler rotates next; null when no period applies. */
      nextRotationDueAt: z.iso.datetime().nullable(),
      /** Running jobs first, then the most recent ones (at most 20). */
      jobs: z.array(rotationJobSchema).max(20),
    }),
  },
  /**
   * Gives the node its tenant's key-rotation period (0 = no rotation by age). Sent through the
   * outbox when the setting changes, and again whenever the node comes back online. The node
   * keeps the highest `revision` it saw, so late or repeated copies never undo a newer setting.
   */
  'keys.policy.set': {
    mutates: true,
    permission: 'tenant.settings.manage',
    payload: z.strictObject({
      tenantId: z.uuid(),
      rotationDays: z.number().int().min(0).max(3650),
      revision: z.number().int().positive(),
    }),
    result: z.strictObject({
      rotationDays: z.number().int().nonnegative(),
      revision: z.number().int().positive(),
      applied: z.boolean(),
    }),
  },
  /**
   * Gives the node the control plane's current signing keys. It carries no delegation: the key
   * set is signed by the CA the node pinned at enrolment, which is what the node checks.
   */
  'trust.update': {
    mutates: false,
    permission: null,
    payload: signedKeySetSchema,
    result: z.strictObject({ version: z.number().int().positive(), changed: z.boolean() }),
  },
} as const satisfies Record<
  string,
  {
    mutates: boolean;
    /** What the delegation must grant; null only for messages authenticated another way. */
    permission: Permission | null;
    payload: z.ZodType;
    result: z.ZodType;
  }
>;

export type BridgeMethod = keyof typeof BRIDGE_METHODS;
export type MethodPayload<M extends BridgeMethod> = z.infer<(typeof BRIDGE_METHODS)[M]['payload']>;
export type MethodResult<M extends BridgeMethod> = z.infer<(typeof BRIDGE_METHODS)[M]['result']>;

/** Methods that change state on the node: sent through the outbox, applied exactly once. */
export type MutatingMethod = {
  [M in BridgeMethod]: (typeof BRIDGE_METHODS)[M]['mutates'] extends true ? M : never;
}[BridgeMethod];

export function isBridgeMethod(name: string): name is BridgeMethod {
  return Object.prototype.hasOwnProperty.call(BRIDGE_METHODS, name);
}
