import { PERMISSIONS, type Permission } from '@causeway/contracts';
import { decide, workspacesWith, type AccessTarget, type Grant } from './grants';

/**
 * What one signed-in user may do, from the roles they hold in their tenant. Built once per
 * request by the guard from the assignments as they are now, so a removed role or a revoked
 * invitation stops working at the next request.
 */
export class UserAccess {
  constructor(
    readonly tenantId: string,
    readonly userId: string,
    readonly userKind: 'member' | 'partner',
    readonly grants: readonly Grant[],
  ) {}

  can(permission: Permission, target: AccessTarget = {}): boolean {
    return this.explain(permission, target).allowed;
  }

  explain(
    permission: Permission,
    target: AccessTarget = {},
  ): { allowed: boolean; because: Grant[] } {
    const level = PERMISSIONS[permission].level;
    if (level === 'self') return { allowed: true, because: [] };
    if (level === 'platform') return { allowed: false, because: [] };
    return decide(this.grants, permission, target);
  }

  /** `all`, or the workspaces where the permission is held (on them or a folder in them). */
  workspacesWith(permission: Permission): 'all' | Set<string> {
    return workspacesWith(this.grants, permission);
  }
}
