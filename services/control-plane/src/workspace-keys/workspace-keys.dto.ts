import { z } from 'zod';
import { BRIDGE_METHODS } from '@causeway/contracts';

export const workspaceIdSchema = z.uuid();

/** A rotation's re-wrap job as the API shows it (what the node answered). */
export const rotationJobSchema = BRIDGE_METHODS['keys.rotate'].result;
export type RotationJobView = z.infer<typeof rotationJobSchema>;

/** A workspace's key status as the API shows it (what the node answered). */
export const keyStatusSchema = BRIDGE_METHODS['keys.status'].result;
export type KeyStatusView = z.infer<typeof keyStatusSchema>;
