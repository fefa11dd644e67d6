import { Inject, Injectable } from '@nestjs/common';
import { hmacSha256Hex } from '@causeway/crypto';
import type { Principal } from '../access/principal';
import { CONFIG, type ControlPlaneConfig } from '../config/config';

/** The permission that shows who is who in the audit trail; without it, readers see pseudonyms. */
export const SEE_IDENTITIES = 'audit.identities.read' as const;

/**
 * The `details` fields that name a person, in one place. Their values are replaced by a
 * pseudonym for readers without `audit.identities.read`. Beside this list, any detail whose
 * name ends like one of these (`targetUserId`, `ownerEmail`), any value written `user:<id>` or
 * `email:<address>`, any value that looks like an email address and any address inside free
 * text is replaced too, so that a field added later without updating this list still does not
 * leak an identity. (A bare user id inside free text cannot be recognised: fields that carry
 * one must be named here or end in `UserId`.)
 */
export const IDENTITY_DETAIL_FIELDS: readonly string[] = [
  'userId',
  'principal',
  'email',
  'invitedEmail',
  'subject',
  'recipient',
  'nameId',
  'externalId',
  'username',
  'displayName',
  'createdBy',
  'invitedBy',
  'actor',
];

const IDENTITY_FIELD_NAMES = new Set(IDENTITY_DETAIL_FIELDS.map((f) => f.toLowerCase()));
const IDENTITY_NAME_ENDINGS = /(userid|email|principal|subject)$/i;
const EMAIL_LIKE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** An address inside free text (a note, a list of entries). */
const EMAIL_INSIDE = /[^\s@"'<>(),;:[\]]+@[^\s@"'<>(),;:[\]]+\.[A-Za-z]{2,}/g;

/** Hex digits kept of the HMAC: 80 bits, collision-free for any tenant's population. */
const PSEUDONYM_HEX = 20;
/** A pseudonym as readers see it, and may filter with. */
export const PSEUDONYM = new RegExp(`^(user|email)~[0-9a-f]{${PSEUDONYM_HEX}}$`);

export type IdentityKind = 'user' | 'email';

/** Who reads the trail, as far as pseudonymisation cares. */
export interface AuditReader {
  seesIdentities: boolean;
}

/** Whether the caller may see identities: the platform operator, or a role with the permission. */
export function readerOf(caller: Principal): AuditReader {
  return {
    seesIdentities:
      caller.kind === 'platform-operator'
        ? caller.permissions.has(SEE_IDENTITIES)
        : caller.access.can(SEE_IDENTITIES),
  };
}

/** HKDF-Extract (RFC 5869) with SHA-256: a pseudorandom key from a secret written as text. */
export function hkdfExtract(salt: string, secret: string): Buffer {
  return Buffer.from(hmacSha256Hex(salt, secret), 'hex');
}

/** HKDF-Expand (RFC 5869) with SHA-256, for one 32-byte block. */
export function hkdfExpand(prk: Buffer, info: string): Buffer {
  return Buffer.from(hmacSha256Hex(prk, `${info}\u0001`), 'hex');
}

/** Pseudonymises one tenant's identities with that tenant's own key. */
export class TenantPseudonyms {
  private readonly cache = new Map<string, string>();

  constructor(private readonly key: Buffer) {}

  /** `user~<hex>` or `email~<hex>`: stable within the tenant, unrelated across tenants. */
  of(kind: IdentityKind, value: string): string {
    const normal = `${kind}:${value.trim().toLowerCase()}`;
    let pseudonym = this.cache.get(normal);
    if (pseudonym === undefined) {
      pseudonym = `${kind}~${hmacSha256Hex(this.key, normal).slice(0, PSEUDONYM_HEX)}`;
      if (this.cache.size < 10_000) this.cache.set(normal, pseudonym);
    }
    return pseudonym;
  }

  /** An actor (`user:<id>`, `email:<address>`) as its pseudonym; other actors are not people. */
  actor(actor: string | null): string | null {
    if (actor === null) return null;
    return this.prefixed(actor) ?? actor;
  }

  /** The details with every person-identifying value replaced (recursively, for safety). */
  details<T>(details: T): T {
    return this.value(details, undefined) as T;
  }

  private value(value: unknown, field: string | undefined): unknown {
    if (Array.isArray(value)) return value.map((v) => this.value(v, field));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        out[k] = this.value(v, k);
      }
      return out;
    }
    if (typeof value !== 'string') return value;
    const prefixed = this.prefixed(value);
    if (prefixed !== undefined) return prefixed;
    if (EMAIL_LIKE.test(value.trim())) return this.of('email', value);
    if (field !== undefined && isIdentityField(field) && field.toLowerCase() !== 'principal') {
      return this.of(/email/i.test(field) ? 'email' : 'user', value);
    }
    return value.replace(EMAIL_INSIDE, (address) => this.of('email', address));
  }

  private prefixed(value: string): string | undefined {
    const match = /^(user|email):(.+)$/s.exec(value);
    if (!match?.[1] || match[2] === undefined) return undefined;
    return this.of(match[1] as IdentityKind, match[2]);
  }
}

function isIdentityField(field: string): boolean {
  return IDENTITY_FIELD_NAMES.has(field.toLowerCase()) || IDENTITY_NAME_ENDINGS.test(field);
}

/**
 * The per-tenant pseudonym keys. One server secret (CAUSEWAY_AUDIT_PSEUDONYM_KEY, or derived from
 * CAUSEWAY_CA_SEAL_KEY or CAUSEWAY_ADMIN_TOKEN when unset) is turned into a key per tenant with
 * HKDF, so the same person has one pseudonym inside a tenant and unrelated ones across tenants,
 * and no reader can compute a pseudonym from a user id they know.
 */
@Injectable()
export class Pseudonyms {
  private readonly prk: Buffer;

  constructor(@Inject(CONFIG) config: ControlPlaneConfig) {
    this.prk = hkdfExtract('causeway/audit-pseudonyms/v1', config.auditPseudonymSecret);
  }

  forTenant(tenantId: string): TenantPseudonyms {
    return new TenantPseudonyms(hkdfExpand(this.prk, `tenant:${tenantId}`));
  }
}
