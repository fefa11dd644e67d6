import { ROLE_TEMPLATES, type Permission } from '@causeway/contracts';
import type { Grant, GrantScope } from '../access/grants';
import type { Principal } from '../access/principal';
import { UserAccess } from '../access/user-access';
import type { SessionUser } from '../sessions/sessions.service';
import { missingPermissions } from './roles.service';

const WS = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';

function user(...grants: Array<[keyof typeof ROLE_TEMPLATES, GrantScope]>): Principal {
  const list: Grant[] = grants.map(([role, scope], i) => ({
    assignmentId: `a${i}`,
    role,
    template: role,
    permissions: ROLE_TEMPLATES[role].permissions,
    scope,
    via: 'user',
  }));
  return {
    kind: 'user',
    subject: 'user:u1',
    session: {} as SessionUser,
    access: new UserAccess('t1', 'u1', 'member', list),
  };
}

const editor: readonly Permission[] = ROLE_TEMPLATES['partner-editor'].permissions;

describe('missingPermissions (nobody hands out what they lack)', () => {
  it('lets the platform operator hand out anything', () => {
    const all: Principal = {
      kind: 'platform-operator',
      subject: 'operator:platform',
      permissions: new Set(ROLE_TEMPLATES.owner.permissions),
    };
    expect(missingPermissions(all, ROLE_TEMPLATES.owner.permissions, { type: 'tenant' })).toEqual(
      [],
    );
  });

  it('names what an admin lacks of the owner role', () => {
    const admin = user(['admin', { type: 'tenant' }]);
    expect(missingPermissions(admin, ROLE_TEMPLATES.owner.permissions, { type: 'tenant' })).toEqual(
      ['tenant.settings.manage'],
    );
    expect(
      missingPermissions(admin, editor, { type: 'folder', workspaceId: WS, folder: '/a' }),
    ).toEqual([]);
  });

  it('counts only tenant-wide roles for a tenant-wide assignment', () => {
    const local = user(['admin', { type: 'tenant' }]);
    expect(missingPermissions(local, editor, { type: 'tenant' })).toEqual([]);
    // Files held on one workspace do not let their holder hand them out tenant-wide.
    const wsOnly = user(['partner-editor', { type: 'workspace', workspaceId: WS }]);
    expect(missingPermissions(wsOnly, editor, { type: 'tenant' })).toEqual(editor);
    expect(missingPermissions(wsOnly, editor, { type: 'workspace', workspaceId: WS })).toEqual([]);
    expect(missingPermissions(wsOnly, editor, { type: 'workspace', workspaceId: OTHER })).toEqual(
      editor,
    );
  });

  it('lets a folder holder hand out no more than that folder and below', () => {
    const folder = user(['partner-editor', { type: 'folder', workspaceId: WS, path: '/a' }]);
    expect(
      missingPermissions(folder, editor, { type: 'folder', workspaceId: WS, folder: '/a/b' }),
    ).toEqual([]);
    expect(
      missingPermissions(folder, editor, { type: 'folder', workspaceId: WS, folder: '/ab' }),
    ).toEqual(editor);
    // The whole workspace: only seeing it (workspaces.read) comes with the folder.
    expect(missingPermissions(folder, editor, { type: 'workspace', workspaceId: WS })).toEqual(
      editor.filter((p) => p !== 'workspaces.read'),
    );
  });
});
