import type { Permission } from '@causeway/contracts';

/**
 * Who is calling. Until tenant sign-in exists, the only principal is the platform operator,
 * identified by the bearer token from CAUSEWAY_ADMIN_TOKEN, holding every permission.
 */
export interface Principal {
  kind: 'platform-operator';
  /** Names the caller in delegations to nodes and in logs. */
  subject: string;
  permissions: ReadonlySet<Permission>;
}

export const PLATFORM_OPERATOR_SUBJECT = 'operator:platform';
