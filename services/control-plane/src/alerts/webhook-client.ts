import { promises as dns, type LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import * as ipaddr from 'ipaddr.js';
import { WebhookTargetError } from './alerts.errors';

/** Every address a host name resolves to (the system resolver, as connections use it). */
export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: ResolveAll = (hostname) =>
  dns.lookup(hostname, { all: true, verbatim: true });

export interface WebhookClientOptions {
  /**
   * Allow targets on loopback, private, link-local and other internal addresses, and plain
   * http (CAUSEWAY_ALERT_WEBHOOK_ALLOW_PRIVATE: on-prem installs whose receiver is internal).
   */
  allowPrivate: boolean;
  /** A call that takes longer fails (and is retried). */
  timeoutMs: number;
}

/**
 * IPv4-compatible IPv6 (`::a.b.c.d`, deprecated): ipaddr.js calls it unicast, but it embeds an
 * IPv4 address that some stacks still route.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * Why an address is not a public unicast one (ipaddr.js's range name, e.g. `loopback`,
 * `private`, `linkLocal`, `uniqueLocal`, `carrierGradeNat`), or undefined for a public address.
 * Anything that is not plain unicast is refused: it also covers the reserved and benchmarking
 * ranges, and the NAT64 / 6to4 / Teredo prefixes that can carry an internal IPv4 address.
 */
export function internalRange(address: string): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns an IPv4-mapped IPv6 address (::ffff:10.0.0.1) into the IPv4 it maps.
    parsed = ipaddr.process(address);
  } catch {
    // Whatever ipaddr.js cannot read is not trusted.
    return 'unreadable';
  }
  const range = parsed.range();
  if (range !== 'unicast') return range;
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return 'ipv4Compatible';
  return undefined;
}

function refused(host: string, address: string, range: string): WebhookTargetError {
  const where = host === address ? address : `${host} (${address})`;
  return new WebhookTargetError(
    'webhook_url_not_allowed',
    `The webhook URL points at ${where}, a ${range} address: Causeway does not call loopback, private, link-local or other internal addresses.`,
  );
}

/** The URL's host without IPv6 brackets: what net.isIP and the resolver take. */
function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Calls tenant-chosen webhook URLs without letting a tenant reach the operator's internal
 * network (SSRF): only public addresses, checked when the URL is saved and again at each call
 * (DNS may change in between). At a call the name is resolved once, every address is checked,
 * and the connection goes to a checked address through the socket's own `lookup`, so a second
 * resolution (DNS rebinding) never happens; Host and the TLS server name stay the URL's host.
 */
export class WebhookClient {
  constructor(
    private readonly options: WebhookClientOptions,
    private readonly resolve: ResolveAll = systemResolve,
  ) {}

  /**
   * The URL as it will be stored (fragment dropped), if its form is acceptable: https (or http
   * when internal targets are allowed), no credentials, and not a literal internal address.
   */
  parse(text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new WebhookTargetError('webhook_url_invalid', 'The webhook URL is not a URL.');
    }
    if (url.username !== '' || url.password !== '') {
      throw new WebhookTargetError(
        'webhook_url_invalid',
        'The webhook URL must not carry credentials.',
      );
    }
    const httpAllowed = url.protocol === 'http:' && this.options.allowPrivate;
    if (url.protocol !== 'https:' && !httpAllowed) {
      throw new WebhookTargetError('webhook_url_not_allowed', 'The webhook URL must use https.');
    }
    const host = bareHost(url);
    if (!this.options.allowPrivate && isIP(host) !== 0) {
      const range = internalRange(host);
      if (range !== undefined) throw refused(host, host, range);
    }
    url.hash = '';
    return url;
  }

  /**
   * `parse`, and then the host name's addresses: a name that resolves to any internal address,
   * or not at all, is refused. For saving settings (a clear answer now rather than failed
   * deliveries later); the call checks again.
   */
  async check(text: string): Promise<URL> {
    const url = this.parse(text);
    if (this.options.allowPrivate) return url;
    const host = bareHost(url);
    if (isIP(host) === 0) await this.addresses(host);
    return url;
  }

  /** POSTs `body`; resolves with the status (redirects are not followed). */
  async post(text: string, headers: Record<string, string>, body: string): Promise<number> {
    const url = this.parse(text);
    const request = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<number>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        // A pooled socket would skip the lookup; alerts are rare enough to connect each time.
        agent: false,
        lookup: this.lookup(),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      req.on('response', (res) => {
        // Only the status matters: a receiver cannot hold the connection open with a body.
        res.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * All of the host's addresses, each checked unless internal targets are allowed; throws if
   * any is internal or there are none.
   */
  private async addresses(host: string): Promise<LookupAddress[]> {
    let addresses: LookupAddress[];
    try {
      addresses = await this.resolve(host);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) {
      throw new WebhookTargetError(
        'webhook_host_unresolved',
        `The webhook host ${host} could not be resolved.`,
      );
    }
    if (this.options.allowPrivate) return addresses;
    // Every address, not only the one used: a name that also points inside is refused.
    for (const { address } of addresses) {
      const range = internalRange(address);
      if (range !== undefined) throw refused(host, address, range);
    }
    return addresses;
  }

  /** net's `lookup` hook: connect only to addresses this very resolution checked. */
  private lookup(): LookupFunction {
    return (hostname, options, callback) => {
      const wanted = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
      this.addresses(hostname).then(
        (all) => {
          const usable =
            wanted === 4 || wanted === 6 ? all.filter((a) => a.family === wanted) : all;
          const first = usable[0];
          if (first === undefined) {
            callback(
              Object.assign(new Error(`no IPv${wanted} address`), { code: 'ENOTFOUND' }),
              [],
            );
          } else if (options.all === true) {
            callback(null, usable);
          } else {
            callback(null, first.address, first.family);
          }
        },
        (error: Error) => callback(error, []),
      );
    };
  }
}
