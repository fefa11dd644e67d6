import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { SamlConfigError } from './saml.errors';

/** Small, explicit tolerance: node-saml's default of 0 rejects logins on any clock drift. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;
/** How long an SP-initiated request id stays acceptable, i.e. how long a user may take at the IdP. */
export const DEFAULT_REQUEST_TTL_SECONDS = 600;

const pemCertificate = z.string().refine(
  (pem) => {
    try {
      new X509Certificate(pem);
      return /-----BEGIN CERTIFICATE-----/.test(pem);
    } catch {
      return false;
    }
  },
  { message: 'must be a PEM encoded X.509 certificate' },
);

const httpUrl = z.url({ protocol: /^https?$/ });

/**
 * One tenant's SAML settings. Validated once when saved and again when a connector is built, so a
 * bad row in the database fails loudly instead of weakening a check.
 */
export const samlTenantConfigSchema = z
  .object({
    tenantId: z.string().min(1),
    /** Our entity id for this tenant; the audience the IdP must put in every assertion. */
    spEntityId: z.string().min(1).max(1024),
    /** Our Assertion Consumer Service URL for this tenant: Destination and Recipient must equal it. */
    acsUrl: httpUrl,
    idpEntityId: z.string().min(1).max(1024),
    idpSsoUrl: httpUrl,
    /** Every certificate the IdP may sign with (two during a rotation). KeyInfo is never trusted. */
    idpSigningCertsPem: z.array(pemCertificate).min(1).max(4),
    attributeMapping: z
      .object({
        email: z.string().min(1).optional(),
        name: z.string().min(1).optional(),
        groups: z.string().min(1).optional(),
      })
      .default({}),
    /**
     * IdP group name to Causeway role names. Deny by default: a group not listed grants nothing,
     * and a user with no mapped group gets no role.
     */
    groupRoles: z
      .record(z.string().min(1).max(256), z.array(z.string().regex(/^[a-z][a-z0-9_.:-]{0,63}$/)))
      .default({}),
    clockSkewSeconds: z.number().int().min(0).max(300).default(DEFAULT_CLOCK_SKEW_SECONDS),
    requestTtlSeconds: z.number().int().min(30).max(3600).default(DEFAULT_REQUEST_TTL_SECONDS),
    wantAssertionsSigned: z.boolean().default(true),
    wantResponseSigned: z.boolean().default(true),
    /** Legacy IdPs only; SHA-1 signatures can be forged with collisions. */
    allowSha1Signatures: z.boolean().default(false),
  })
  .refine((c) => c.wantAssertionsSigned || c.wantResponseSigned, {
    message: 'at least one of wantAssertionsSigned and wantResponseSigned must be true',
  });

export type SamlTenantConfigInput = z.input<typeof samlTenantConfigSchema>;
export type SamlTenantConfig = z.output<typeof samlTenantConfigSchema>;

/** Validates and fills defaults; throws `SamlConfigError('config_invalid')` naming the bad fields. */
export function parseSamlTenantConfig(input: unknown): SamlTenantConfig {
  const result = samlTenantConfigSchema.safeParse(input);
  if (!result.success) {
    const fields = result.error.issues
      .map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`)
      .join('; ');
    throw new SamlConfigError('config_invalid', fields);
  }
  return result.data;
}
