import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  AUDIT_EVENTS,
  AUDIT_EVENT_TYPES,
  AuditDetailsError,
  checkAuditDetails,
  type AuditEventSpec,
} from './events';

const ROOT = join(__dirname, '..', '..', '..');
const SIDES = { 'control-plane': 'services/control-plane/src', node: 'services/node/src' } as const;

/** The production sources of one side (tests and their helpers excluded). */
function sources(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.spec.ts') && !name.endsWith('.d.ts')) {
      out.push({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') });
    }
  }
  return out;
}

const code = {
  'control-plane': sources(join(ROOT, SIDES['control-plane'])),
  node: sources(join(ROOT, SIDES.node)),
};

function emittedOn(side: keyof typeof code, type: string): boolean {
  return code[side].some((file) => file.text.includes(`'${type}'`));
}

const specs = Object.entries(AUDIT_EVENTS) as Array<[string, AuditEventSpec]>;

describe('the audit event catalogue', () => {
  it('has at least 150 events, each named once as category.subject.action', () => {
    expect(AUDIT_EVENT_TYPES.length).toBeGreaterThanOrEqual(150);
    expect(new Set(AUDIT_EVENT_TYPES).size).toBe(AUDIT_EVENT_TYPES.length);
    for (const type of AUDIT_EVENT_TYPES) expect(type).toMatch(/^[a-z_]+(\.[a-z_]+){1,3}$/);
  });

  it.each(specs)(
    '%s has a category, a severity, a side, a description and a fields schema',
    (_t, spec) => {
      expect([
        'authentication',
        'access',
        'configuration',
        'administration',
        'data',
        'alert',
      ]).toContain(spec.category);
      expect(['info', 'notice', 'warning', 'critical']).toContain(spec.severity);
      expect(['control-plane', 'node', 'both']).toContain(spec.side);
      expect(spec.description.length).toBeGreaterThan(10);
      expect(spec.fields).toBeDefined();
    },
  );

  it.each(specs)('%s is emitted by the side that records it', (type, spec) => {
    const onControlPlane = emittedOn('control-plane', type);
    const onNode = emittedOn('node', type);
    if (spec.side === 'control-plane')
      expect({ type, onControlPlane }).toEqual({ type, onControlPlane: true });
    if (spec.side === 'node') expect({ type, onNode }).toEqual({ type, onNode: true });
    if (spec.side === 'both') {
      expect({ type, onControlPlane, onNode }).toEqual({
        type,
        onControlPlane: true,
        onNode: true,
      });
    }
  });

  it('refuses details the catalogue does not name, or of the wrong type', () => {
    expect(() => checkAuditDetails('admin.user.enabled', { userId: 'u1' })).not.toThrow();
    expect(() => checkAuditDetails('admin.user.enabled', { userId: 'u1', password: 'x' })).toThrow(
      AuditDetailsError,
    );
    expect(() => checkAuditDetails('admin.user.enabled', { userId: 42 })).toThrow(/userId/);
    expect(() => checkAuditDetails('admin.user.enabled', {})).toThrow(/userId/);
    expect(() => checkAuditDetails('no.such.event', {})).toThrow(/not in the catalogue/);
  });
});
