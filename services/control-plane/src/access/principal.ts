import type { Permission } from '@causeway/contracts';
import type { SessionUser } from '../sessions/sessions.service';
import type { UserAccess } from './user-access';

/**
 * Who is calling: the platform operator (bearer token from CAUSEWAY_ADMIN_TOKEN, every
 * permission) or a signed-in user (session cookie), whose roles in their tenant decide.
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
      session: SessionUser;
      /** The user's roles in their tenant, as they are at this request. */
      access: UserAccess;
    };

export const PLATFORM_OPERATOR_SUBJECT = 'operator:platform';
