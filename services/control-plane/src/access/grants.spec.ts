import { ROLE_TEMPLATES } from '@causeway/contracts';
import {
  canonicalFolder,
  covers,
  decide,
  isWithin,
  workspacesWith,
  type Grant,
  type GrantScope,
} from './grants';

const WS = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';

function grant(role: keyof typeof ROLE_TEMPLATES, scope: GrantScope, id = 'a1'): Grant {
  return {
    assignmentId: id,
    role,
    template: role,
    permissions: ROLE_TEMPLATES[role].permissions,
    scope,
    via: 'user',
  };
}

describe('canonicalFolder', () => {
  it.each([
    ['/', '/'],
    ['/a', '/a'],
    ['/a/', '/a'],
    ['/a///', '/a'],
    ['/contracts/2026', '/contracts/2026'],
    ['/contracts/2026/', '/contracts/2026'],
    ['/a b/ü', '/a b/ü'],
  ])('accepts %j as %j', (raw, canonical) => {
    expect(canonicalFolder(raw)).toBe(canonical);
  });

  it.each([
    [''],
    ['a'],
    ['a/b'],
    ['/..'],
    ['/a/..'],
    ['/a/../b'],
    ['/./a'],
    ['/a/.'],
    ['//a'],
    ['/a//b'],
    ['/a\\b'],
    ['/a\u0000b'],
    ['/a\nb'],
  ])('refuses %j', (raw) => {
    expect(canonicalFolder(raw)).toBeUndefined();
  });

  it('refuses a segment over 255 characters and a path over 1024', () => {
    expect(canonicalFolder(`/${'x'.repeat(255)}`)).toBe(`/${'x'.repeat(255)}`);
    expect(canonicalFolder(`/${'x'.repeat(256)}`)).toBeUndefined();
    expect(canonicalFolder(`/${'x/'.repeat(600)}`)).toBeUndefined();
  });
});

describe('isWithin', () => {
  it('puts a folder within itself, its parents and the root, and nothing else', () => {
    expect(isWithin('/a', '/a')).toBe(true);
    expect(isWithin('/a/b', '/a')).toBe(true);
    expect(isWithin('/a/b/c', '/')).toBe(true);
    expect(isWithin('/ab', '/a')).toBe(false);
    expect(isWithin('/a', '/a/b')).toBe(false);
    expect(isWithin('/b', '/a')).toBe(false);
  });
});

describe('covers', () => {
  const tenant: GrantScope = { type: 'tenant' };
  const workspace: GrantScope = { type: 'workspace', workspaceId: WS };
  const folder: GrantScope = { type: 'folder', workspaceId: WS, path: '/a' };

  it('a tenant grant covers the tenant, every workspace and every folder', () => {
    expect(covers(tenant, {}, 'users.read')).toBe(true);
    expect(covers(tenant, { workspaceId: OTHER }, 'files.read')).toBe(true);
    expect(covers(tenant, { workspaceId: WS, folder: '/x' }, 'files.write')).toBe(true);
  });

  it('a workspace grant covers that workspace and its folders, not another workspace', () => {
    expect(covers(workspace, { workspaceId: WS }, 'files.read')).toBe(true);
    expect(covers(workspace, { workspaceId: WS, folder: '/deep/down' }, 'files.read')).toBe(true);
    expect(covers(workspace, { workspaceId: OTHER }, 'files.read')).toBe(false);
  });

  it('a folder grant covers the folder and below, not /ab next to /a, nor a sibling', () => {
    expect(covers(folder, { workspaceId: WS, folder: '/a' }, 'files.read')).toBe(true);
    expect(covers(folder, { workspaceId: WS, folder: '/a/b' }, 'files.read')).toBe(true);
    expect(covers(folder, { workspaceId: WS, folder: '/ab' }, 'files.read')).toBe(false);
    expect(covers(folder, { workspaceId: WS, folder: '/b' }, 'files.read')).toBe(false);
    expect(covers(folder, { workspaceId: WS, folder: '/' }, 'files.read')).toBe(false);
    expect(covers(folder, { workspaceId: OTHER, folder: '/a' }, 'files.read')).toBe(false);
  });

  it('a folder grant lets its holder see the workspace itself, and nothing more of it', () => {
    expect(covers(folder, { workspaceId: WS }, 'workspaces.read')).toBe(true);
    expect(covers(folder, { workspaceId: WS }, 'files.read')).toBe(false);
    expect(covers(folder, { workspaceId: OTHER }, 'workspaces.read')).toBe(false);
  });

  it('on a route about no workspace, a workspace-level permission held anywhere passes, a tenant one does not', () => {
    expect(covers(folder, {}, 'workspaces.read')).toBe(true);
    expect(covers(workspace, {}, 'files.read')).toBe(true);
    expect(covers(workspace, {}, 'users.read')).toBe(false);
    expect(covers(folder, {}, 'tenant.read')).toBe(false);
  });
});

describe('decide', () => {
  it('allows through the grants that hold the permission and cover the target, and says which', () => {
    const grants = [
      grant('partner-viewer', { type: 'folder', workspaceId: WS, path: '/a' }, 'g1'),
      grant('partner-editor', { type: 'folder', workspaceId: WS, path: '/a/b' }, 'g2'),
    ];
    const read = decide(grants, 'files.read', { workspaceId: WS, folder: '/a/b/c' });
    expect(read.allowed).toBe(true);
    expect(read.because.map((g) => g.assignmentId)).toEqual(['g1', 'g2']);
    const write = decide(grants, 'files.write', { workspaceId: WS, folder: '/a' });
    expect(write).toEqual({ allowed: false, because: [] });
    expect(decide(grants, 'files.write', { workspaceId: WS, folder: '/a/b' }).allowed).toBe(true);
    expect(decide(grants, 'files.read', { workspaceId: WS, folder: '/ab' }).allowed).toBe(false);
  });

  it('denies with no grants at all, and a permission no role of the user holds', () => {
    expect(decide([], 'files.read', {})).toEqual({ allowed: false, because: [] });
    const member = [grant('member', { type: 'tenant' })];
    expect(decide(member, 'users.manage', {}).allowed).toBe(false);
    expect(decide(member, 'files.write', { workspaceId: OTHER }).allowed).toBe(true);
  });
});

describe('workspacesWith', () => {
  it('is "all" with a tenant grant, else the workspaces of the grants that hold it', () => {
    expect(workspacesWith([grant('member', { type: 'tenant' })], 'files.read')).toBe('all');
    const some = workspacesWith(
      [
        grant('partner-viewer', { type: 'folder', workspaceId: WS, path: '/a' }),
        grant('partner-viewer', { type: 'workspace', workspaceId: OTHER }),
      ],
      'files.read',
    );
    expect(some).toEqual(new Set([WS, OTHER]));
    expect(
      workspacesWith(
        [grant('partner-viewer', { type: 'workspace', workspaceId: WS })],
        'files.write',
      ),
    ).toEqual(new Set());
  });
});
