import type { Permission } from '@causeway/contracts';

/**
 * Who is calling. Until tenant sign-in exists, the only principal is the platform operator,
 * identified by the bearer token from CAUSEWAY_ADMIN_TOKEN, holding every permission.
 */
export interface Principal {
  kind: 'platform-operator';
  permissions: ReadonlySet<Permission>;
}
