import { z } from 'zod';

/**
 * Every operation a node answers, with the schema of its payload and of its result. Both sides
 * import this table, so a request and its handler cannot drift apart silently.
 */
export const BRIDGE_METHODS = {
  ping: {
    payload: z.strictObject({ echo: z.string().max(1024).optional() }),
    result: z.strictObject({
      pong: z.literal(true),
      nodeId: z.uuid(),
      echo: z.string().max(1024).optional(),
      at: z.iso.datetime(),
    }),
  },
  'node.info': {
    payload: z.strictObject({}),
    result: z.strictObject({
      nodeId: z.uuid(),
      version: z.string(),
      hostname: z.string(),
      startedAt: z.iso.datetime(),
      uptimeSeconds: z.number().nonnegative(),
      runtime: z.string(),
    }),
  },
} as const;

export type BridgeMethod = keyof typeof BRIDGE_METHODS;
export type MethodPayload<M extends BridgeMethod> = z.infer<(typeof BRIDGE_METHODS)[M]['payload']>;
export type MethodResult<M extends BridgeMethod> = z.infer<(typeof BRIDGE_METHODS)[M]['result']>;

export function isBridgeMethod(name: string): name is BridgeMethod {
  return Object.prototype.hasOwnProperty.call(BRIDGE_METHODS, name);
}
