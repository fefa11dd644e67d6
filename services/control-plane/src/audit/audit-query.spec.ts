import { hkdfSync } from 'node:crypto';
import { csvCell, csvRow } from './audit-export';
import { networkOf, parseAuditQuery, auditListQuerySchema } from './audit-query';
import { TenantPseudonyms, hkdfExpand, hkdfExtract } from './pseudonyms';

describe('CSV cells (RFC 4180, formula guard)', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    [' padded', '" padded"'],
    ['=1+2', "'=1+2"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['=A1,B1', `"'=A1,B1"`],
  ])('writes %j as %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('leaves numbers and empty cells alone and ends records with CRLF', () => {
    expect(csvRow([1, null, 'x'])).toBe('1,,x\r\n');
  });
});

describe('the ip filter', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3/32'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['::ffff:10.1.2.3', '10.1.2.3/32'],
    ['2001:DB8::1/32', '2001:db8::/32'],
    ['2001:db8::5', '2001:db8::5/128'],
  ])('reads %s as %s', (text, network) => {
    expect(networkOf(text)).toBe(network);
  });

  it.each(['010.0.0.1', '10.1', '300.1.1.1', '10.0.0.0/33', '10.0.0.0/08', 'fe80::1%eth0', ''])(
    'refuses %j',
    (text) => {
      expect(networkOf(text)).toBeUndefined();
    },
  );
});

describe('query validation', () => {
  it('reads an offset whose + a URL turned into a space', () => {
    const q = parseAuditQuery(auditListQuerySchema, { from: '2026-12-02T12:00:00 02:00' });
    expect(q.from?.toISOString()).toBe('2026-12-02T10:00:00.000Z');
  });

  it('names the field in one sentence', () => {
    expect(() => parseAuditQuery(auditListQuerySchema, { limit: '5000' })).toThrow(/"limit"/);
    expect(() => parseAuditQuery(auditListQuerySchema, { sort: 'desc' })).toThrow(
      /unknown filter "sort"/,
    );
  });
});

describe('pseudonyms', () => {
  const key = (tenant: string) => hkdfExpand(hkdfExtract('salt', 'server secret'), tenant);

  it('is HKDF-SHA-256 (RFC 5869), as node:crypto computes it', () => {
    const expected = Buffer.from(
      hkdfSync('sha256', 'server secret', 'causeway/salt', 'tenant:42', 32),
    );
    expect(hkdfExpand(hkdfExtract('causeway/salt', 'server secret'), 'tenant:42')).toEqual(
      expected,
    );
  });

  it('replaces every identity in actor and details, stably, and keeps the rest', () => {
    const p = new TenantPseudonyms(key('a'));
    const user = '6f1c2a9e-0000-4000-8000-000000000001';
    const details = p.details({
      userId: user,
      principal: `user:${user}`,
      group: 'group:admins',
      targetUserId: 'x-1',
      ownerEmail: 'Ada@Example.org',
      note: 'mail ada@example.org now',
      workspaceId: 'ws-1',
      count: 3,
    });
    const pseudonym = p.actor(`user:${user}`);
    expect(pseudonym).toMatch(/^user~[0-9a-f]{20}$/);
    expect(details).toEqual({
      userId: pseudonym,
      principal: pseudonym,
      group: 'group:admins',
      targetUserId: p.of('user', 'x-1'),
      ownerEmail: p.of('email', 'ada@example.org'),
      note: `mail ${p.of('email', 'ada@example.org')} now`,
      workspaceId: 'ws-1',
      count: 3,
    });
    expect(p.actor('operator:platform')).toBe('operator:platform');
    expect(new TenantPseudonyms(key('b')).actor(`user:${user}`)).not.toBe(pseudonym);
  });
});
