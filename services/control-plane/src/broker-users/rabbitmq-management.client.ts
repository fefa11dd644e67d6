import { RabbitMqManagementError } from './broker-users.errors';

export interface RabbitMqManagementOptions {
  /** Base URL of the management listener, without credentials: `https://broker:15671`. A path
   * prefix (a reverse proxy's `/rabbitmq/`) is kept. */
  baseUrl: string;
  username: string;
  password: string;
  /** The virtual host whose permissions are managed, `/` by default in RabbitMQ. */
  vhost: string;
  /** Each call is aborted after this long. */
  timeoutMs: number;
  /** Replaces the global fetch; for tests. */
  fetch?: typeof fetch;
}

/** Three regular expressions matched against queue and exchange names in one vhost. */
export interface Permissions {
  configure: string;
  write: string;
  read: string;
}

/** Regular expressions matched against routing keys on one topic exchange. */
export interface TopicPermissions {
  write: string;
  read: string;
}

export interface ManagementUser {
  name: string;
  tags: string[];
}

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Status codes that are an answer, not a failure (404 for "already gone"). */
  accept?: number[];
  /** Secrets the request carries besides the admin password; scrubbed from any error. */
  secrets?: string[];
}

const MAX_REASON = 200;

/**
 * A small client for the part of RabbitMQ's management HTTP API that manages users,
 * permissions and connections. Plain `fetch`, no dependency.
 *
 * The admin credentials live in a private field (`#authorization`): they do not show when the
 * client is logged, inspected or serialised, and no error built here ever contains them.
 */
export class RabbitMqManagementClient {
  readonly #authorization: string;
  readonly #adminPassword: string;
  private readonly base: URL;
  private readonly vhost: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RabbitMqManagementOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new Error('the RabbitMQ management URL is not a valid URL');
    }
    if (base.username || base.password) {
      // fetch refuses such URLs anyway; say why without echoing the URL.
      throw new Error('the RabbitMQ management URL must not contain credentials');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new Error('the RabbitMQ management URL must be http:// or https://');
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.base = base;
    this.vhost = options.vhost;
    this.timeoutMs = options.timeoutMs;
    this.fetchImpl = options.fetch ?? fetch;
    this.#adminPassword = options.password;
    const basic = Buffer.from(`${options.username}:${options.password}`, 'utf8');
    this.#authorization = `Basic ${basic.toString('base64')}`;
  }

  /** The user the client authenticates as, with its tags; a cheap readiness check. */
  async whoami(): Promise<ManagementUser> {
    const body = await this.call('GET', 'whoami');
    return toUser(body);
  }

  /** A user and its tags, or undefined when there is none. */
  async getUser(name: string): Promise<ManagementUser | undefined> {
    const body = await this.call('GET', `users/${seg(name)}`, { accept: [404] });
    return body === undefined ? undefined : toUser(body);
  }

  /** Creates the user, or replaces its password and tags when it exists. */
  async putUser(name: string, password: string, tags = ''): Promise<void> {
    await this.call('PUT', `users/${seg(name)}`, {
      body: { password, tags },
      secrets: [password],
    });
  }

  /** Deletes the user (its permissions go with it). Returns false when it did not exist. */
  async deleteUser(name: string): Promise<boolean> {
    const gone = await this.call('DELETE', `users/${seg(name)}`, { accept: [404] });
    return gone !== undefined;
  }

  /** Sets the user's configure/write/read expressions on this client's vhost. */
  async setPermissions(user: string, permissions: Permissions): Promise<void> {
    await this.call('PUT', `permissions/${seg(this.vhost)}/${seg(user)}`, {
      body: {
        configure: permissions.configure,
        write: permissions.write,
        read: permissions.read,
      },
    });
  }

  /** The user's expressions on this client's vhost, or undefined when it has none. */
  async getPermissions(user: string): Promise<Permissions | undefined> {
    const body = await this.call('GET', `permissions/${seg(this.vhost)}/${seg(user)}`, {
      accept: [404],
    });
    if (body === undefined) return undefined;
    const p = body as Partial<Permissions>;
    return { configure: str(p.configure), write: str(p.write), read: str(p.read) };
  }

  /** Restricts the routing keys the user may publish with (write) on one topic exchange. */
  async setTopicPermissions(
    user: string,
    exchange: string,
    permissions: TopicPermissions,
  ): Promise<void> {
    await this.call('PUT', `topic-permissions/${seg(this.vhost)}/${seg(user)}`, {
      body: { exchange, write: permissions.write, read: permissions.read },
    });
  }

  /**
   * Names of the user's open connections (all vhosts). Uses the per-user endpoint, which reads
   * the broker's connection tracking: the plain `/api/connections` list is fed by statistics
   * events (every 5 s by default) and misses a connection opened a moment ago.
   */
  async connectionsOf(user: string): Promise<string[]> {
    const body = await this.call('GET', `connections/username/${seg(user)}`, { accept: [404] });
    if (!Array.isArray(body)) return [];
    return body
      .filter((c): c is { name: string; user: string } => {
        const conn = c as { name?: unknown; user?: unknown };
        return typeof conn.name === 'string' && conn.user === user;
      })
      .map((c) => c.name);
  }

  /**
   * Closes every open connection of the user (all vhosts); the broker tells the client
   * `reason`. Needed on revocation because permissions are checked when a connection opens and
   * channels cache them. Returns how many connections were open when asked.
   *
   * One DELETE on the per-user endpoint, not one per connection name: `DELETE
   * /api/connections/{name}` looks the name up in the statistics database and answers 404 for
   * a connection opened less than one statistics interval ago (measured on 3.10.8), which
   * would let a fresh connection survive its revocation.
   */
  async closeConnectionsOf(user: string, reason = 'broker access revoked'): Promise<number> {
    const open = await this.connectionsOf(user);
    await this.call('DELETE', `connections/username/${seg(user)}`, {
      headers: { 'X-Reason': reason.replace(/[^\x20-\x7e]/g, '?') },
      accept: [404],
    });
    return open.length;
  }

  /**
   * One call. Resolves with the parsed JSON body (null when empty) or undefined when the
   * status was one of `accept`; anything else becomes a RabbitMqManagementError.
   */
  private async call(method: string, path: string, options: CallOptions = {}): Promise<unknown> {
    const url = new URL(`api/${path}`, this.base);
    const endpoint = url.pathname;
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      accept: 'application/json',
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const secrets = [this.#adminPassword, this.#authorization, ...(options.secrets ?? [])];

    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        // Never send the Authorization header anywhere else.
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: unknown }).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new RabbitMqManagementError(
          'management_timeout',
          method,
          endpoint,
          undefined,
          `no answer within ${this.timeoutMs} ms`,
        );
      }
      throw new RabbitMqManagementError(
        'management_unreachable',
        method,
        endpoint,
        undefined,
        truncate(scrub(networkReason(error), secrets)),
      );
    }

    if (options.accept?.includes(response.status)) {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      throw new RabbitMqManagementError(
        'management_rejected',
        method,
        endpoint,
        response.status,
        truncate(scrub(brokerReason(text), secrets)),
      );
    }
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  }
}

/** One path segment, encoded: the default vhost `/` becomes `%2F`. */
function seg(value: string): string {
  return encodeURIComponent(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function toUser(body: unknown): ManagementUser {
  const u = body as { name?: unknown; tags?: unknown };
  // 3.9+ answers tags as an array; older brokers as a comma-separated string.
  const tags = Array.isArray(u.tags)
    ? u.tags.filter((t): t is string => typeof t === 'string')
    : typeof u.tags === 'string'
      ? u.tags.split(',').filter((t) => t !== '')
      : [];
  return { name: str(u.name), tags };
}

/** The broker's `{ error, reason }`; never the raw body. */
function brokerReason(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; reason?: unknown };
    const parts = [parsed.error, parsed.reason].filter(
      (p): p is string => typeof p === 'string' && p !== '',
    );
    return parts.join(': ');
  } catch {
    return '';
  }
}

/** `ECONNREFUSED` and the like, from fetch's `cause`. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : 'network error';
}

function truncate(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}

/** Removes every secret the request carried; done before shortening, so no prefix survives. */
function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  return out;
}
