import * as ipaddr from 'ipaddr.js';
import { AllowListError } from './allow-list.errors';

/** More entries than any tenant needs; keeps a request's check cheap and a bad import visible. */
export const MAX_ALLOW_LIST_ENTRIES = 500;

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** One allowed network, in canonical form. */
export interface AllowedNetwork {
  kind: 'ipv4' | 'ipv6';
  address: Address;
  prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7/32`. */
  cidr: string;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** Dotted decimal only: `10.1`, `0x0a.0.0.1` and `010.0.0.1` (octal!) are refused. */
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

/**
 * Parses an address the way people and Node write it: dotted-decimal IPv4 or IPv6 (an embedded
 * IPv4 tail must be dotted decimal too). IPv4-mapped IPv6 (`::ffff:10.0.0.1`) becomes the IPv4
 * address, so the same client matches whichever way the socket reports it.
 */
function parseAddress(text: string): Address | undefined {
  if (IPV4.test(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) return undefined;
  const tail = /:([^:]*\.[^:]*)$/.exec(text);
  if (tail && !IPV4.test(tail[1])) return undefined;
  const v6 = ipaddr.IPv6.parse(text);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

function parseEntry(raw: string): AllowedNetwork {
  const entry = raw.trim();
  const bad = (why: string) =>
    new AllowListError('allow_list_invalid', `Entry ${JSON.stringify(raw)} ${why}.`);
  if (entry === '') throw bad('is empty');
  if (entry.includes('%')) throw bad('has an IPv6 zone id, which cannot be allowed');
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
  const ipv4Text = IPV4.test(addressText);
  let address: Address | undefined;
  if (ipv4Text) address = ipaddr.IPv4.parse(addressText);
  else if (addressText.includes(':') && ipaddr.IPv6.isValid(addressText)) {
    address = parseAddress(addressText) === undefined ? undefined : ipaddr.IPv6.parse(addressText);
  }
  if (!address) throw bad('is not an IPv4 or IPv6 address or CIDR');
  const bits = address.kind() === 'ipv4' ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
      throw bad(`has a prefix length that is not 0-${bits}`);
    }
    prefix = Number(prefixText);
  }
  // An IPv4-mapped IPv6 range is the IPv4 range it maps.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    prefix -= 96;
  }
  const network = networkOf(address, prefix);
  if (network.toString() !== address.toString()) {
    throw bad(`has bits set after the prefix; did you mean ${cidrText(network, prefix)}?`);
  }
  return { kind: address.kind(), address: network, prefix, cidr: cidrText(network, prefix) };
}

function networkOf(address: Address, prefix: number): Address {
  const bytes = address.toByteArray();
  const masked = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  return ipaddr.fromByteArray(masked);
}

function cidrText(address: Address, prefix: number): string {
  const text =
    address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
  return `${text}/${prefix}`;
}

/**
 * A tenant's IP allow-list: IPv4 and IPv6 networks (CIDRs or single addresses). An empty list
 * allows every address; a non-empty one allows only addresses inside one of its networks, and
 * an address that cannot be read is refused. Checked on every request of the tenant.
 */
export class AllowList {
  private constructor(readonly networks: readonly AllowedNetwork[]) {}

  /**
   * Validates and canonicalises the entries. Throws `allow_list_invalid` naming the first bad
   * entry (junk, a prefix out of range, host bits after the prefix, a zone id, too many).
   */
  static parse(entries: readonly string[]): AllowList {
    if (entries.length > MAX_ALLOW_LIST_ENTRIES) {
      throw new AllowListError(
        'allow_list_invalid',
        `It has ${entries.length} entries; at most ${MAX_ALLOW_LIST_ENTRIES} are allowed.`,
      );
    }
    const networks: AllowedNetwork[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const network = parseEntry(entry);
      if (seen.has(network.cidr)) continue;
      seen.add(network.cidr);
      networks.push(network);
    }
    return new AllowList(networks);
  }

  /** Allows everything. */
  static readonly open = new AllowList([]);

  /** The canonical entries, for storing and showing back. */
  get entries(): string[] {
    return this.networks.map((n) => n.cidr);
  }

  get allowsAll(): boolean {
    return this.networks.length === 0;
  }

  /** True when the list is empty or the address is inside one of its networks. */
  allows(address: string): boolean {
    if (this.allowsAll) return true;
    const parsed = parseAddress(address.trim());
    if (!parsed) return false;
    return this.networks.some((n) => n.kind === parsed.kind() && parsed.match(n.address, n.prefix));
  }

  /** Throws `address_not_allowed` unless `allows(address)`. */
  assertAllows(address: string): void {
    if (!this.allows(address)) throw new AllowListError('address_not_allowed');
  }
}
