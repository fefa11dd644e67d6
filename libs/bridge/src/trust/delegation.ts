import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import {
  SignJWT,
  errors as joseErrors,
  importPKCS8,
  importSPKI,
  jwtVerify,
  type CryptoKey,
  type JWTHeaderParameters,
} from 'jose';
import {
  DELEGATION_ALG,
  DELEGATION_CLOCK_TOLERANCE_SECONDS,
  DELEGATION_TYP,
  MAX_DELEGATION_TTL_SECONDS,
  delegationClaimsSchema,
  type DelegationClaims,
  type Principal,
} from '@causeway/contracts';

/** SHA-256 of the exact message body, base64url: what a delegation token binds itself to. */
export function bodyDigest(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url');
}

/**
 * jose works on WebCrypto keys; handed a KeyObject it converts it on every call (Node 20 has no
 * KeyObject.toCryptoKey). Converting once per key saves that on every request.
 */
const cryptoKeys = new WeakMap<KeyObject, Promise<CryptoKey>>();
function asCryptoKey(key: KeyObject): Promise<CryptoKey> {
  let converted = cryptoKeys.get(key);
  if (!converted) {
    converted =
      key.type === 'private'
        ? importPKCS8(key.export({ type: 'pkcs8', format: 'pem' }).toString(), DELEGATION_ALG)
        : importSPKI(key.export({ type: 'spki', format: 'pem' }).toString(), DELEGATION_ALG);
    cryptoKeys.set(key, converted);
  }
  return converted;
}

/** The control plane's current signing key, as the minter uses it. */
export interface ActiveSigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface DelegationMinterOptions {
  issuer: string;
  /** Seconds a token lives; capped at MAX_DELEGATION_TTL_SECONDS. */
  ttlSeconds: number;
  /** Called per token, so a rotation takes effect on the next request without a restart. */
  activeKey: () => ActiveSigningKey | Promise<ActiveSigningKey>;
  now?: () => number;
}

export interface MintInput {
  nodeId: string;
  principal: Principal;
  messageId: string;
  method: string;
  body: Uint8Array;
}

/** Mints the delegation token that goes with one request message (control-plane side). */
export class DelegationMinter {
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(private readonly options: DelegationMinterOptions) {
    if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1) {
      throw new Error('delegation ttlSeconds must be a positive integer');
    }
    this.ttl = Math.min(options.ttlSeconds, MAX_DELEGATION_TTL_SECONDS);
    this.now = options.now ?? Date.now;
  }

  async mint(input: MintInput): Promise<string> {
    const key = await this.options.activeKey();
    const iat = Math.floor(this.now() / 1000);
    const p = input.principal;
    return new SignJWT({
      tid: p.tenantId,
      ...(p.workspaceId === undefined ? {} : { ws: p.workspaceId }),
      perm: [...p.permissions],
      mid: input.messageId,
      mth: input.method,
      dig: bodyDigest(input.body),
    })
      .setProtectedHeader({ alg: DELEGATION_ALG, typ: DELEGATION_TYP, kid: key.kid })
      .setIssuer(this.options.issuer)
      .setAudience(input.nodeId)
      .setSubject(p.subject)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttl)
      .sign(await asCryptoKey(key.privateKey));
  }
}

/**
 * Remembers token ids for as long as tokens live. `remember` answers whether this is the
 * first time the id is seen; it must be durable across restarts of the node.
 */
export interface ReplayCache {
  remember(jti: string, expiresAtSeconds: number): boolean | Promise<boolean>;
}

/** Why a token was refused; stable words, audited and logged. */
export type RefusalReason =
  | 'missing'
  | 'malformed'
  | 'algorithm'
  | 'type'
  | 'unknown_key'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime'
  | 'claims'
  | 'message_mismatch'
  | 'replayed';

export type DelegationVerdict =
  | { ok: true; claims: DelegationClaims; principal: Principal; firstUse: boolean }
  | {
      ok: false;
      code: 'delegation_refused' | 'delegation_expired' | 'delegation_key_unknown';
      reason: RefusalReason;
      /** Present when the signature verified (expired tokens, replays): safe to audit. */
      claims?: DelegationClaims;
      kid?: string;
    };

export interface DelegationVerifierOptions {
  issuer: string;
  nodeId: string;
  /** Looks a key up by kid in the node's pinned key set only; undefined when unknown. */
  key: (kid: string) => KeyObject | undefined;
  replay: ReplayCache;
  now?: () => number;
}

class UnknownKey extends Error {
  constructor(readonly kid: string | undefined) {
    super('unknown key id');
  }
}

/**
 * Checks a delegation token on the node: signature by a pinned key (looked up by kid, never by
 * a URL in the header), algorithm EdDSA only, type, issuer, audience = this node, expiry with a
 * small clock tolerance, a lifetime no longer than the ceiling, the binding to this exact
 * message, and first use of its id.
 */
export class DelegationVerifier {
  private readonly now: () => number;

  constructor(private readonly options: DelegationVerifierOptions) {
    this.now = options.now ?? Date.now;
  }

  async verify(
    token: unknown,
    message: { id: string; method: string; body: Uint8Array },
  ): Promise<DelegationVerdict> {
    if (typeof token !== 'string' || token.length === 0) return refused('missing');
    if (token.length > 8192) return refused('malformed');
    let kid: string | undefined;
    let payload: unknown;
    try {
      const result = await jwtVerify(
        token,
        (header: JWTHeaderParameters) => {
          kid = header.kid;
          const key = header.kid === undefined ? undefined : this.options.key(header.kid);
          if (!key) throw new UnknownKey(header.kid);
          return asCryptoKey(key);
        },
        {
          algorithms: [DELEGATION_ALG],
          typ: DELEGATION_TYP,
          issuer: this.options.issuer,
          audience: this.options.nodeId,
          maxTokenAge: MAX_DELEGATION_TTL_SECONDS,
          clockTolerance: DELEGATION_CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['iss', 'aud', 'sub', 'jti', 'iat', 'exp'],
          currentDate: new Date(this.now()),
        },
      );
      payload = result.payload;
    } catch (error) {
      return this.refusal(error, kid);
    }
    const parsed = delegationClaimsSchema.safeParse(payload);
    if (!parsed.success) return refused('claims', kid);
    const claims = parsed.data;
    if (claims.exp - claims.iat > MAX_DELEGATION_TTL_SECONDS)
      return refused('lifetime', kid, claims);
    if (
      claims.mid !== message.id ||
      claims.mth !== message.method ||
      claims.dig !== bodyDigest(message.body)
    ) {
      return refused('message_mismatch', kid, claims);
    }
    const firstUse = await this.options.replay.remember(
      claims.jti,
      claims.exp + DELEGATION_CLOCK_TOLERANCE_SECONDS,
    );
    return {
      ok: true,
      claims,
      firstUse,
      principal: {
        subject: claims.sub,
        tenantId: claims.tid,
        ...(claims.ws === undefined ? {} : { workspaceId: claims.ws }),
        permissions: claims.perm,
      },
    };
  }

  private refusal(error: unknown, kid: string | undefined): DelegationVerdict {
    if (error instanceof UnknownKey) {
      return { ok: false, code: 'delegation_key_unknown', reason: 'unknown_key', kid };
    }
    if (error instanceof joseErrors.JWTExpired) {
      // jose checks the signature before the claims: an expired token is genuine, only late.
      const claims = delegationClaimsSchema.safeParse(error.payload);
      return {
        ok: false,
        code: 'delegation_expired',
        reason: 'expired',
        kid,
        ...(claims.success ? { claims: claims.data } : {}),
      };
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      const byClaim: Record<string, RefusalReason> = {
        iss: 'issuer',
        aud: 'audience',
        typ: 'type',
        nbf: 'not_yet_valid',
        iat: 'lifetime',
      };
      return refused(byClaim[error.claim] ?? 'claims', kid);
    }
    if (
      error instanceof joseErrors.JOSEAlgNotAllowed ||
      error instanceof joseErrors.JOSENotSupported
    ) {
      return refused('algorithm', kid);
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed)
      return refused('signature', kid);
    return refused('malformed', kid);
  }
}

function refused(
  reason: RefusalReason,
  kid?: string,
  claims?: DelegationClaims,
): DelegationVerdict {
  return {
    ok: false,
    code: 'delegation_refused',
    reason,
    ...(kid === undefined ? {} : { kid }),
    ...(claims === undefined ? {} : { claims }),
  };
}

/** An in-process replay cache, for tests and benchmarks; nodes use their durable one. */
export class MemoryReplayCache implements ReplayCache {
  private readonly seen = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  remember(jti: string, expiresAtSeconds: number): boolean {
    const nowSeconds = this.now() / 1000;
    if (nowSeconds - this.lastSweep > 10) {
      for (const [id, until] of this.seen) if (until < nowSeconds) this.seen.delete(id);
      this.lastSweep = nowSeconds;
    }
    if (this.seen.has(jti)) return false;
    this.seen.set(jti, expiresAtSeconds);
    return true;
  }
}
