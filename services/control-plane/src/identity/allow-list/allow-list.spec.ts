import { AllowList, MAX_ALLOW_LIST_ENTRIES } from './allow-list';
import { AllowListError } from './allow-list.errors';
import { asCausewayError } from '../../common/domain-errors';

describe('AllowList', () => {
  describe('parse', () => {
    it('accepts IPv4 and IPv6 CIDRs and single addresses, canonicalised', () => {
      const list = AllowList.parse([
        '10.0.0.0/8',
        ' 192.0.2.7 ',
        '2001:DB8:0:0::/32',
        '2001:db8:1::5',
        '0.0.0.0/0',
        '::/0',
      ]);
      expect(list.entries).toEqual([
        '10.0.0.0/8',
        '192.0.2.7/32',
        '2001:db8::/32',
        '2001:db8:1::5/128',
        '0.0.0.0/0',
        '::/0',
      ]);
    });

    it('turns IPv4-mapped IPv6 entries into the IPv4 networks they map', () => {
      expect(AllowList.parse(['::ffff:10.0.0.0/104', '::ffff:192.0.2.1']).entries).toEqual([
        '10.0.0.0/8',
        '192.0.2.1/32',
      ]);
    });

    it('drops duplicates', () => {
      expect(AllowList.parse(['10.0.0.1', '10.0.0.1/32']).entries).toEqual(['10.0.0.1/32']);
    });

    it.each([
      ['banana', 'is not an IPv4 or IPv6 address'],
      ['', 'is empty'],
      ['10.0.0.256', 'is not an IPv4 or IPv6 address'],
      ['10.1', 'is not an IPv4 or IPv6 address'],
      ['010.0.0.1', 'is not an IPv4 or IPv6 address'],
      ['0x0a.0.0.1', 'is not an IPv4 or IPv6 address'],
      ['10.0.0.0/33', 'prefix length that is not 0-32'],
      ['10.0.0.0/', 'prefix length that is not 0-32'],
      ['10.0.0.0/08', 'prefix length that is not 0-32'],
      ['10.0.0.0/-1', 'prefix length that is not 0-32'],
      ['2001:db8::/129', 'prefix length that is not 0-128'],
      ['2001:db8:::1', 'is not an IPv4 or IPv6 address'],
      ['::ffff:10.1', 'is not an IPv4 or IPv6 address'],
      ['fe80::1%eth0', 'zone id'],
      ['10.0.0.1/8', 'did you mean 10.0.0.0/8?'],
      ['2001:db8::1/32', 'did you mean 2001:db8::/32?'],
      ['10.0.0.0/8/9', 'prefix length'],
    ])('refuses %j, naming it', (entry, why) => {
      let error: unknown;
      try {
        AllowList.parse(['192.0.2.0/24', entry]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AllowListError);
      expect(error).toMatchObject({ code: 'allow_list_invalid' });
      expect(asCausewayError(error)).toMatchObject({ code: 'validation_failed', status: 400 });
      expect((error as Error).message).toContain(JSON.stringify(entry));
      expect((error as Error).message).toContain(why);
    });

    it('refuses more entries than the limit', () => {
      const many = Array.from(
        { length: MAX_ALLOW_LIST_ENTRIES + 1 },
        (_, i) => `10.0.${i >> 8}.${i & 255}`,
      );
      expect(() => AllowList.parse(many)).toThrow(AllowListError);
    });
  });

  describe('allows', () => {
    it('allows everything when empty', () => {
      const list = AllowList.parse([]);
      expect(list.allowsAll).toBe(true);
      expect(list.allows('203.0.113.9')).toBe(true);
      expect(list.allows('2001:db8::1')).toBe(true);
      expect(AllowList.open.allows('anything')).toBe(true);
    });

    it('matches IPv4 networks and single addresses', () => {
      const list = AllowList.parse(['10.0.0.0/8', '192.0.2.7']);
      expect(list.allows('10.0.0.1')).toBe(true);
      expect(list.allows('10.255.255.255')).toBe(true);
      expect(list.allows('11.0.0.0')).toBe(false);
      expect(list.allows('192.0.2.7')).toBe(true);
      expect(list.allows('192.0.2.8')).toBe(false);
    });

    it('matches IPv4-mapped IPv6 addresses against IPv4 entries', () => {
      const list = AllowList.parse(['10.0.0.0/8']);
      expect(list.allows('::ffff:10.0.0.1')).toBe(true);
      expect(list.allows('::FFFF:10.0.0.1')).toBe(true);
      expect(list.allows('::ffff:a00:1')).toBe(true);
      expect(list.allows('::ffff:11.0.0.1')).toBe(false);
      // A mapped entry matches a plain IPv4 client too.
      expect(AllowList.parse(['::ffff:192.0.2.0/120']).allows('192.0.2.99')).toBe(true);
    });

    it('matches IPv6 networks and single addresses', () => {
      const list = AllowList.parse(['2001:db8::/32', 'fd00::1']);
      expect(list.allows('2001:db8::1')).toBe(true);
      expect(list.allows('2001:db8:ffff:ffff::1')).toBe(true);
      expect(list.allows('2001:db9::1')).toBe(false);
      expect(list.allows('fd00::1')).toBe(true);
      expect(list.allows('fd00:0:0:0:0:0:0:1')).toBe(true);
      expect(list.allows('fd00::2')).toBe(false);
    });

    it('never lets IPv4 and IPv6 entries match the other family', () => {
      expect(AllowList.parse(['0.0.0.0/0']).allows('2001:db8::1')).toBe(false);
      expect(AllowList.parse(['::/0']).allows('10.0.0.1')).toBe(false);
      expect(AllowList.parse(['::/0']).allows('::ffff:10.0.0.1')).toBe(false);
    });

    it('refuses addresses it cannot read when the list is not empty', () => {
      const list = AllowList.parse(['0.0.0.0/0', '::/0']);
      for (const junk of ['', 'banana', '10.1', '010.0.0.1', '10.0.0.1/32', '300.0.0.1']) {
        expect(list.allows(junk)).toBe(false);
      }
    });

    it('assertAllows throws address_not_allowed', () => {
      const list = AllowList.parse(['10.0.0.0/8']);
      expect(() => list.assertAllows('10.1.2.3')).not.toThrow();
      expect(() => list.assertAllows('192.0.2.1')).toThrow(
        expect.objectContaining({ code: 'address_not_allowed' }),
      );
    });
  });
});
