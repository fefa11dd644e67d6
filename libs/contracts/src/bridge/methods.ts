import { z } from 'zod';
import type { Permission } from '../permissions';
import { signedKeySetSchema } from './trust';

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
