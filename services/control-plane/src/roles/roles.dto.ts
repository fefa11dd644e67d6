import { z } from 'zod';
import {
  ALL_PERMISSIONS,
  ROLE_TEMPLATE_NAMES,
  type Permission,
  type RoleTemplate,
} from '@causeway/contracts';

const permission = z.enum(ALL_PERMISSIONS as [Permission, ...Permission[]], {
  error: 'not a permission of the catalogue',
});
const template = z.enum(ROLE_TEMPLATE_NAMES as [RoleTemplate, ...RoleTemplate[]], {
  error: `a template is one of ${ROLE_TEMPLATE_NAMES.join(', ')}`,
});
const uuid = (what: string) => z.uuid({ error: `${what} is a UUID` });
/** An SSO group as the identity provider names it: printable, no control characters. */
const group = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f]+$/, 'no control characters');

export const ROLE_NAME = /^[a-z][a-z0-9-]{1,62}$/;

export const createRoleSchema = z.strictObject({
  name: z
    .string()
    .regex(ROLE_NAME, 'a role name is 2-63 of a-z, 0-9 and -, starting with a letter'),
  template,
  /** Default: the template's permissions; otherwise a subset of them. */
  permissions: z.array(permission).min(1).max(100).optional(),
  description: z.string().trim().max(500).optional(),
});
export type CreateRole = z.infer<typeof createRoleSchema>;

export const scopeSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tenant') }),
  z.strictObject({ type: z.literal('workspace'), workspaceId: uuid('workspaceId') }),
  z.strictObject({
    type: z.literal('folder'),
    workspaceId: uuid('workspaceId'),
    folder: z.string().min(1).max(1024),
  }),
]);

export const createAssignmentSchema = z
  .strictObject({
    role: z.string().min(1).max(63),
    user: uuid('user').optional(),
    group: group.optional(),
    scope: scopeSchema,
  })
  .refine((a) => (a.user === undefined) !== (a.group === undefined), {
    message: 'name exactly one of user and group',
    path: ['user'],
  });
export type CreateAssignment = z.infer<typeof createAssignmentSchema>;

export const assignmentQuerySchema = z.strictObject({
  user: uuid('user').optional(),
  group: group.optional(),
  workspace: uuid('workspace').optional(),
});

export const explainQuerySchema = z.strictObject({
  user: uuid('user'),
  permission,
  workspace: uuid('workspace').optional(),
  folder: z.string().min(1).max(1024).optional(),
});

export const createUserSchema = z.strictObject({
  email: z.email().max(320),
  displayName: z.string().trim().min(1).max(200).optional(),
  kind: z.enum(['member', 'partner']).default('member'),
});
export type CreateUser = z.infer<typeof createUserSchema>;

export const assignmentId = uuid('an assignment id');
export const userId = uuid('a user id');

/** Where an assignment applies, as the API shows it. */
export type ScopeView =
  | { type: 'tenant' }
  | { type: 'workspace'; workspaceId: string }
  | { type: 'folder'; workspaceId: string; folder: string };

export interface RoleView {
  id: string | null;
  name: string;
  builtIn: boolean;
  template: RoleTemplate;
  description: string;
  permissions: Permission[];
  assignableScopes: Array<'tenant' | 'workspace' | 'folder'>;
  createdAt: string | null;
  createdBy: string | null;
}

export interface AssignmentView {
  id: string;
  role: string;
  builtIn: boolean;
  /** `user:<id>` or `group:<name>`. */
  principal: string;
  scope: ScopeView;
  createdAt: string;
  createdBy: string;
}

export interface UserView {
  id: string;
  email: string;
  displayName: string | null;
  kind: 'member' | 'partner';
  disabled: boolean;
  createdAt: string;
}
