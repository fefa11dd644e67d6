import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { CausewayError } from '@causeway/contracts';
import { sealSecret, unsealSecret } from '@causeway/crypto';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock';
import { returnedRows } from '../../common/returned-rows';
import { parseInput } from '../../common/validation';
import { CONFIG, type ControlPlaneConfig } from '../../config/config';
import { TenantsService } from '../../tenants/tenants.service';
import { OidcConnector, OidcConfigError, parseOidcConnectorConfig } from '../oidc';
import { SamlConnector, parseIdpMetadata, parseSamlTenantConfig } from '../saml';
import { PgSamlReplayStore, PgSamlRequestStore } from './saml-stores.pg';

const SECRET_PURPOSE = 'causeway/identity-provider/client-secret';

const connectorName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'use 1-63 letters, digits, space, . _ or -');

/** What a tenant admin sends to add an OIDC connector. The redirect URI is Causeway's own. */
export const createOidcProviderSchema = z.strictObject({
  kind: z.literal('oidc'),
  name: connectorName,
  issuer: z.url(),
  clientId: z.string().min(1).max(500),
  clientSecret: z.string().min(1).max(2000),
  scopes: z.array(z.string()).optional(),
  idTokenSigningAlg: z.string().optional(),
  claims: z
    .strictObject({
      email: z.string().optional(),
      name: z.string().optional(),
      groups: z.string().optional(),
    })
    .optional() /**
   * A partner company's own identity provider: people it signs in are partners (roles only on
   * the workspaces they are invited to), and it never signs in one of the tenant's members.
   */,
  partners: z.boolean().default(false),
});

const attributeName = z.string().min(1).max(256);
/** Causeway role names as a SAML role mapping may grant them. */
const roleName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'a role name is 1-63 lower-case letters, digits or -');

/**
 * What a tenant admin sends to add a SAML connector: the IdP's metadata as downloaded from it.
 * The SP entity id and ACS URL are Causeway's own, per tenant and connector.
 */
export const createSamlProviderSchema = z.strictObject({
  kind: z.literal('saml'),
  name: connectorName,
  idpMetadataXml: z
    .string()
    .min(1)
    .max(1024 * 1024),
  /** Accept sign-ins started at the IdP (no AuthnRequest of ours). Off by default. */
  allowIdpInitiated: z.boolean().default(false),
  /**
   * SAML has no `email_verified`: whether this IdP's e-mail attribute may link a first sign-in
   * to an existing account with that address. Off by default.
   */
  trustEmail: z.boolean().default(false),
  /** A partner company's IdP: see the OIDC connector's `partners`. Off by default. */
  partners: z.boolean().default(false),
  attributes: z
    .strictObject({
      email: attributeName.optional(),
      name: attributeName.optional(),
      groups: attributeName.optional(),
    })
    .optional(),
  /** IdP attribute value -> Causeway role name, read from the attribute `attribute`. */
  roleMapping: z
    .strictObject({
      attribute: attributeName,
      values: z.record(z.string().min(1).max(256), roleName),
    })
    .optional(),
});

export const createIdentityProviderSchema = z.discriminatedUnion('kind', [
  createOidcProviderSchema,
  createSamlProviderSchema,
]);

/** A SAML connector's row settings: what was read from the metadata, and the admin's options. */
interface SamlSettings {
  idpEntityId: string;
  idpSsoUrl: string;
  idpSigningCertsPem: string[];
  allowIdpInitiated: boolean;
  trustEmail: boolean;
  partners: boolean;
  attributes: { email?: string; name?: string; groups?: string };
  roleMapping?: { attribute: string; values: Record<string, string> };
}

/** A built SAML connector with the options the sign-in routes need beside it. */
export interface SamlProvider {
  connector: SamlConnector;
  allowIdpInitiated: boolean;
  trustEmail: boolean;
}

export interface IdentityProviderView {
  id: string;
  tenantId: string;
  kind: 'oidc' | 'saml';
  name: string;
  enabled: boolean;
  /** Settings without the secret. */
  settings: Record<string, unknown>;
  /** OIDC: register this at the identity provider as the redirect URI. */
  redirectUri?: string;
  /** Where a browser starts signing in with this connector. */
  loginUrl: string;
  /** SAML: this connector's SP metadata (give it to the IdP, or copy the two values below). */
  metadataUrl?: string;
  /** SAML: our entity id, the Audience the IdP must address. */
  spEntityId?: string;
  /** SAML: our Assertion Consumer Service URL (HTTP-POST). */
  acsUrl?: string;
  createdAt: string;
}

interface ProviderRow {
  id: string;
  tenant_id: string;
  kind: 'oidc' | 'saml';
  name: string;
  settings: Record<string, unknown>;
  sealed_secret: string | null;
  enabled: boolean;
  created_at: Date;
}

/**
 * A tenant's sign-in connectors, OIDC and SAML. An OIDC client secret is sealed at rest with
 * CAUSEWAY_CA_SEAL_KEY, never returned, and unsealed only to build a connector (kept in memory
 * afterwards). A SAML connector has no secret: only the IdP's public metadata.
 */
@Injectable()
export class IdentityProvidersService {
  private readonly connectors = new Map<string, Promise<OidcConnector>>();
  private readonly samlConnectors = new Map<string, SamlProvider>();
  private readonly samlRequests: PgSamlRequestStore;
  private readonly samlReplays: PgSamlReplayStore;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly audit: AuditService,
  ) {
    this.samlRequests = new PgSamlRequestStore(db, clock);
    this.samlReplays = new PgSamlReplayStore(db, clock);
  }

  redirectUri(tenantSlug: string): string {
    return `${this.config.publicUrl}/api/v1/auth/${tenantSlug}/oidc/callback`;
  }

  /** A SAML connector's own URLs: each connector is its own SP, per tenant. */
  samlUrls(
    tenantSlug: string,
    providerId: string,
  ): { metadataUrl: string; spEntityId: string; acsUrl: string; loginUrl: string } {
    const base = `${this.config.publicUrl}/api/v1/auth/${tenantSlug}/saml`;
    const metadataUrl = `${base}/metadata?provider=${providerId}`;
    return {
      metadataUrl,
      // The metadata URL doubles as the entity id, as most IdPs expect.
      spEntityId: metadataUrl,
      acsUrl: `${base}/acs?provider=${providerId}`,
      loginUrl: `${base}/login?provider=${providerId}`,
    };
  }

  async create(tenantSlug: string, input: unknown, actor: string): Promise<IdentityProviderView> {
    const body = parseInput(createIdentityProviderSchema, input, 'identity provider');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const id = randomUUID();
    let settings: Record<string, unknown>;
    let sealedSecret: string | null;
    if (body.kind === 'saml') {
      settings = { ...this.samlSettings(tenant.id, tenant.slug, id, body) };
      sealedSecret = null;
    } else {
      ({ settings, sealedSecret } = await this.oidcSettings(tenant.slug, body));
    }
    const { kind, name } = body;
    try {
      await this.db.query(
        `INSERT INTO identity_providers (id, tenant_id, kind, name, settings, sealed_secret, enabled, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, true, $7)`,
        [id, tenant.id, kind, name, JSON.stringify(settings), sealedSecret, this.clock.now()],
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new CausewayError('conflict', `This tenant already has a connector named "${name}".`);
      }
      throw error;
    }
    await this.audit.record({
      tenantId: tenant.id,
      type: 'config.identity_provider.added',
      outcome: 'success',
      actor,
      details: { providerId: id, kind, name },
    });
    return this.view(tenant.slug, (await this.row(tenant.id, id)) as ProviderRow);
  }

  /** Checks an OIDC connector's settings and seals its secret. */
  private async oidcSettings(
    tenantSlug: string,
    body: z.output<typeof createOidcProviderSchema>,
  ): Promise<{ settings: Record<string, unknown>; sealedSecret: string }> {
    const sealKey = this.config.caSealKey;
    if (sealKey === undefined) {
      throw new CausewayError(
        'enrolment_unavailable',
        'Sign-in connectors need CAUSEWAY_CA_SEAL_KEY to keep their secrets sealed.',
      );
    }
    const { clientSecret, issuer, clientId, scopes, idTokenSigningAlg, claims, partners } = body;
    const connectorSettings = {
      issuer,
      clientId,
      scopes,
      idTokenSigningAlg,
      claims,
      redirectUri: this.redirectUri(tenantSlug),
    };
    const settings = { ...connectorSettings, partners };
    try {
      parseOidcConnectorConfig(
        { ...connectorSettings, clientSecret },
        { allowInsecureHttp: this.config.devAllowHttpIdp },
      );
    } catch (error) {
      if (error instanceof OidcConfigError)
        throw new CausewayError('validation_failed', error.message);
      throw error;
    }
    return { settings, sealedSecret: await sealSecret(clientSecret, sealKey, SECRET_PURPOSE) };
  }

  /**
   * Reads the IdP metadata and checks the whole connector config with the SAML core, so a
   * connector that could not work is refused now (`SamlConfigError`, answered 400) rather than
   * at its first sign-in. Only the parsed values are kept, never the uploaded document.
   */
  private samlSettings(
    tenantId: string,
    tenantSlug: string,
    providerId: string,
    body: z.output<typeof createSamlProviderSchema>,
  ): SamlSettings {
    const attributes = body.attributes ?? {};
    if (
      body.roleMapping &&
      attributes.groups !== undefined &&
      attributes.groups !== body.roleMapping.attribute
    ) {
      throw new CausewayError(
        'validation_failed',
        'attributes.groups and roleMapping.attribute name different attributes; give one.',
      );
    }
    const settings: SamlSettings = {
      ...parseIdpMetadata(body.idpMetadataXml),
      allowIdpInitiated: body.allowIdpInitiated,
      trustEmail: body.trustEmail,
      partners: body.partners,
      attributes,
      ...(body.roleMapping ? { roleMapping: body.roleMapping } : {}),
    };
    parseSamlTenantConfig(this.samlCoreConfig(tenantId, tenantSlug, providerId, settings));
    return settings;
  }

  /** The SAML core's config for one connector: its settings plus Causeway's own URLs. */
  private samlCoreConfig(
    tenantId: string,
    tenantSlug: string,
    providerId: string,
    settings: SamlSettings,
  ): unknown {
    const { spEntityId, acsUrl } = this.samlUrls(tenantSlug, providerId);
    const groupRoles: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    for (const [value, role] of Object.entries(settings.roleMapping?.values ?? {})) {
      groupRoles[value] = [role];
    }
    return {
      tenantId,
      spEntityId,
      acsUrl,
      idpEntityId: settings.idpEntityId,
      idpSsoUrl: settings.idpSsoUrl,
      idpSigningCertsPem: settings.idpSigningCertsPem,
      attributeMapping: {
        ...settings.attributes,
        ...(settings.roleMapping ? { groups: settings.roleMapping.attribute } : {}),
      },
      groupRoles: { ...groupRoles },
    };
  }

  async list(tenantSlug: string, onlyEnabled = false): Promise<IdentityProviderView[]> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const rows = await this.db.query<ProviderRow[]>(
      `SELECT * FROM identity_providers WHERE tenant_id = $1 ${onlyEnabled ? 'AND enabled' : ''}
       ORDER BY created_at`,
      [tenant.id],
    );
    return rows.map((r) => this.view(tenant.slug, r));
  }

  async remove(tenantSlug: string, id: string, actor: string): Promise<void> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const deleted = returnedRows(
      await this.db.query<Array<{ id: string }> | [Array<{ id: string }>, number]>(
        'DELETE FROM identity_providers WHERE tenant_id = $1 AND id = $2 RETURNING id',
        [tenant.id, id],
      ),
    );
    if (deleted.length === 0) {
      throw new CausewayError(
        'not_found',
        'No identity provider with this id exists in this tenant.',
      );
    }
    this.connectors.delete(id);
    this.samlConnectors.delete(id);
    await this.audit.record({
      tenantId: tenant.id,
      type: 'config.identity_provider.removed',
      outcome: 'success',
      actor,
      details: { providerId: id },
    });
  }

  /** The OIDC connector of one of the tenant's enabled providers (built once, then reused). */
  async oidcConnector(tenantId: string, providerId: string): Promise<OidcConnector> {
    const row = await this.row(tenantId, providerId);
    if (!row || row.kind !== 'oidc' || !row.enabled || !row.sealed_secret) {
      throw new CausewayError('not_found', 'No such sign-in method for this tenant.');
    }
    let connector = this.connectors.get(providerId);
    if (!connector) {
      const sealed = row.sealed_secret;
      // `partners` is Causeway's own setting, not the OIDC core's.
      const oidcSettings: Record<string, unknown> = { ...row.settings };
      delete oidcSettings['partners'];
      connector = (async () =>
        new OidcConnector(
          {
            ...oidcSettings,
            clientSecret: await unsealSecret(sealed, this.config.caSealKey ?? '', SECRET_PURPOSE),
          },
          { clock: this.clock, allowInsecureHttp: this.config.devAllowHttpIdp },
        ))();
      connector.catch(() => this.connectors.delete(providerId));
      this.connectors.set(providerId, connector);
    }
    return connector;
  }

  /**
   * The SAML connector of one of the tenant's enabled providers (built once, then reused), with
   * the request and replay stores in PostgreSQL.
   */
  async samlConnector(tenantId: string, providerId: string): Promise<SamlProvider> {
    const row = await this.row(tenantId, providerId);
    if (!row || row.kind !== 'saml' || !row.enabled) {
      throw new CausewayError('not_found', 'No such sign-in method for this tenant.');
    }
    let provider = this.samlConnectors.get(providerId);
    if (!provider) {
      const tenants = await this.db.query<Array<{ slug: string }>>(
        'SELECT slug FROM tenants WHERE id = $1',
        [tenantId],
      );
      const slug = tenants[0]?.slug ?? '';
      const settings = row.settings as unknown as SamlSettings;
      provider = {
        connector: new SamlConnector(this.samlCoreConfig(tenantId, slug, providerId, settings), {
          requests: this.samlRequests,
          replays: this.samlReplays,
          clock: () => this.clock.now(),
        }),
        allowIdpInitiated: settings.allowIdpInitiated === true,
        trustEmail: settings.trustEmail === true,
      };
      this.samlConnectors.set(providerId, provider);
    }
    return provider;
  }

  /**
   * Whether a connector signs in a partner company's people (its `partners` setting). Connectors
   * added before the setting existed are not partner connectors.
   */
  async isPartnerConnector(tenantId: string, providerId: string): Promise<boolean> {
    const row = await this.row(tenantId, providerId);
    return row?.settings['partners'] === true;
  }

  private async row(tenantId: string, id: string): Promise<ProviderRow | undefined> {
    const rows = await this.db.query<ProviderRow[]>(
      'SELECT * FROM identity_providers WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return rows[0];
  }

  private view(slug: string, row: ProviderRow): IdentityProviderView {
    const common = {
      id: row.id,
      tenantId: row.tenant_id,
      kind: row.kind,
      name: row.name,
      enabled: row.enabled,
      settings: row.settings,
      createdAt: row.created_at.toISOString(),
    };
    if (row.kind === 'saml') return { ...common, ...this.samlUrls(slug, row.id) };
    return {
      ...common,
      redirectUri: this.redirectUri(slug),
      loginUrl: `${this.config.publicUrl}/api/v1/auth/${slug}/oidc/login?provider=${row.id}`,
    };
  }
}
