import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  BRIDGE_METHODS,
  CausewayError,
  type BridgeMethod,
  type Principal,
} from '@causeway/contracts';

/** The operator's own limits, in `policy.json` in the state directory (optional). */
export const POLICY_FILE = 'policy.json';

export const nodePolicySchema = z.strictObject({
  /** Subjects this node refuses whatever the control plane says (e.g. a departed admin). */
  denySubjects: z.array(z.string().min(1).max(256)).max(10_000).default([]),
  /** When set, the only permissions this node honours; anything else is refused. */
  allowPermissions: z.array(z.string().min(1).max(64)).max(256).optional(),
});
export type NodePolicy = z.infer<typeof nodePolicySchema>;

/**
 * The node's own access rules, applied after the delegation verified. The control plane's
 * word is necessary, never sufficient: the request must be for this node's tenant, grant the
 * method's permission, stay inside the workspace it names, and pass the operator's local policy.
 * A user never gets more through Causeway than the node would give directly.
 */
export class AccessRules {
  constructor(
    private readonly tenantId: string,
    private readonly policy: NodePolicy = { denySubjects: [] },
  ) {}

  static load(stateDir: string, tenantId: string): AccessRules {
    const file = join(stateDir, POLICY_FILE);
    if (!existsSync(file)) return new AccessRules(tenantId);
    let policy: NodePolicy;
    try {
      policy = nodePolicySchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      throw new Error(
        `${file} is not a valid node policy (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    return new AccessRules(tenantId, policy);
  }

  authorize(method: BridgeMethod, principal: Principal, payload: unknown): void {
    const deny = (why: string): never => {
      throw new CausewayError('forbidden', `This node refuses the request: ${why}.`);
    };
    if (principal.tenantId !== this.tenantId) deny('it is for another tenant');
    const needed = BRIDGE_METHODS[method].permission;
    if (needed !== null && !principal.permissions.includes(needed)) {
      deny(`the delegation does not grant "${needed}"`);
    }
    if (this.policy.denySubjects.includes(principal.subject)) deny('the subject is blocked here');
    const allowed = this.policy.allowPermissions;
    if (needed !== null && allowed && !allowed.includes(needed)) {
      deny(`this node does not allow "${needed}"`);
    }
    const scope = scopeOf(payload);
    if (scope.tenantId !== undefined && scope.tenantId !== this.tenantId) {
      deny('the payload names another tenant');
    }
    if (
      scope.workspaceId !== undefined &&
      principal.workspaceId !== undefined &&
      scope.workspaceId !== principal.workspaceId
    ) {
      deny('the payload names another workspace than the delegation');
    }
  }
}

function scopeOf(payload: unknown): { tenantId?: string; workspaceId?: string } {
  if (typeof payload !== 'object' || payload === null) return {};
  const p = payload as Record<string, unknown>;
  return {
    ...(typeof p.tenantId === 'string' ? { tenantId: p.tenantId } : {}),
    ...(typeof p.workspaceId === 'string' ? { workspaceId: p.workspaceId } : {}),
  };
}
