import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Ways the test provider can spoil the ID token of its next token response. */
export type OidcIdTokenTamper =
  | 'alg-none'
  | 'unknown-key'
  | 'wrong-key-same-kid'
  | 'hs256-public-key'
  | 'expired'
  | 'wrong-issuer'
  | 'wrong-audience';

export interface OidcTestAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
  [claim: string]: unknown;
}

export interface StartOidcProviderOptions {
  /** The client's registered redirect URIs; `login()` stops at the first redirect to one. */
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  account?: OidcTestAccount;
  /** How long to wait for the provider to listen. */
  startTimeoutMs?: number;
}

export interface TestOidcProvider {
  /** `http://127.0.0.1:PORT`, also the discovery base. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  account: OidcTestAccount;
  /**
   * Plays the browser: follows the authorization URL through the provider's login and consent
   * (keeping cookies) and returns the redirect_uri URL the browser would be sent to, with code,
   * state and iss.
   */
  login(authorizationUrl: URL | string): Promise<string>;
  /** Makes the provider rewrite the ID token of its next token response. */
  tamperNextIdToken(mode: OidcIdTokenTamper): Promise<void>;
  /**
   * Key rotation: which keys (`k1`, the provider's own, and `k2`) the JWKS publishes and which one
   * signs ID tokens. The default is `{ published: ['k1'], active: 'k1' }`.
   */
  setSigningKeys(keys: { published: Array<'k1' | 'k2'>; active: 'k1' | 'k2' }): Promise<void>;
  /** What the provider wrote on stderr, for failing tests. */
  stderr(): string;
  stop(): Promise<void>;
}

const DEFAULT_ACCOUNT: OidcTestAccount = {
  sub: 'user-42',
  email: 'ada@example.test',
  email_verified: true,
  name: 'Ada Lovelace',
  groups: ['engineering', 'admins'],
};

/**
 * Starts panva's oidc-provider in a child process on 127.0.0.1 with a random port: one
 * confidential client (code flow, PKCE required, client_secret_basic, RS256 ID tokens) and one
 * account. Tests only.
 */
export async function startOidcProvider(
  options: StartOidcProviderOptions,
): Promise<TestOidcProvider> {
  const clientId = options.clientId ?? 'causeway-test';
  const clientSecret = options.clientSecret ?? 'test-secret-0123456789abcdef0123456789';
  const account = options.account ?? DEFAULT_ACCOUNT;
  const child = spawn(process.execPath, [providerScript()], {
    env: {
      PATH: process.env.PATH ?? '',
      OIDC_TEST_CLIENT_ID: clientId,
      OIDC_TEST_CLIENT_SECRET: clientSecret,
      OIDC_TEST_REDIRECT_URIS: JSON.stringify(options.redirectUris),
      OIDC_TEST_ACCOUNT: JSON.stringify(account),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));

  const issuer = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`oidc-provider did not start: ${stderr.join('')}`));
    }, options.startTimeoutMs ?? 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { issuer: string }).issuer);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`oidc-provider exited (${code}): ${stderr.join('')}`));
    });
  });

  const isRedirectUri = (url: URL): boolean =>
    options.redirectUris.some((r) => {
      const target = new URL(r);
      return target.origin === url.origin && target.pathname === url.pathname;
    });

  return {
    issuer,
    clientId,
    clientSecret,
    account,
    async login(authorizationUrl) {
      const jar = new Map<string, string>();
      let url = new URL(authorizationUrl);
      let method: 'GET' | 'POST' = 'GET';
      for (let hop = 0; hop < 20; hop++) {
        if (isRedirectUri(url)) return url.toString();
        const response = await fetch(url, {
          method,
          redirect: 'manual',
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        });
        keepCookies(jar, response.headers.getSetCookie());
        const location = response.headers.get('location');
        const body = await response.text();
        if (response.status >= 300 && response.status < 400 && location !== null) {
          url = new URL(location, url);
          method = 'GET';
        } else if (response.status === 200 && url.pathname.startsWith('/interaction/')) {
          method = 'POST'; // submit the login or consent form
        } else {
          throw new Error(`provider answered ${response.status} at ${url.pathname}: ${body}`);
        }
      }
      throw new Error('too many redirects during the test login');
    },
    async tamperNextIdToken(mode) {
      const response = await fetch(new URL('/__test/next-id-token', issuer), {
        method: 'POST',
        body: JSON.stringify({ mode }),
      });
      if (response.status !== 204) throw new Error(`tamper knob failed: ${response.status}`);
    },
    async setSigningKeys(keys) {
      const response = await fetch(new URL('/__test/keys', issuer), {
        method: 'POST',
        body: JSON.stringify(keys),
      });
      if (response.status !== 204) throw new Error(`keys knob failed: ${response.status}`);
    },
    stderr: () => stderr.join(''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The .mjs beside this file; from a dist/ build (tsc does not copy it), the one in src/. */
function providerScript(): string {
  const beside = join(__dirname, 'provider-process.mjs');
  if (existsSync(beside)) return beside;
  return join(__dirname, '..', '..', 'src', 'oidc-provider', 'provider-process.mjs');
}

function keepCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const header of setCookies) {
    const [pair = '', ...attributes] = header.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq);
    const expired = attributes.some((a) => {
      const [k = '', v = ''] = a.split('=');
      if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
      if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
      return false;
    });
    if (expired) jar.delete(name);
    else jar.set(name, pair.slice(eq + 1));
  }
}
