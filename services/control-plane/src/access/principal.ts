import type { Permission } from '@causeway/contracts';
import type { SessionUser } from '../sessions/sessions.service';

/**
 * Who is calling: the platform operator (bearer token from CAUSEWAY_ADMIN_TOKEN, every
 * permission) or a signed-in user (session cookie). Until roles exist, a user holds only the
 * permissions over their own account.
 */
export type Principal =
  | {
      kind: 'platform-operator';
      /** Names the caller in delegations to nodes and in logs. */
      subject: string;
      permissions: ReadonlySet<Permission>;
    }
  | {
      kind: 'user';
      subject: string;
      permissions: ReadonlySet<Permission>;
      session: SessionUser;
    };

export const PLATFORM_OPERATOR_SUBJECT = 'operator:platform';

/** What a signed-in user may do before roles (issue 6) grant more. */
export const SIGNED_IN_USER_PERMISSIONS: ReadonlySet<Permission> = new Set(['account.self']);
