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

const SECRET_PURPOSE = 'causeway/identity-provider/client-secret';

/** What a tenant admin sends to add an OIDC connector. The redirect URI is Causeway's own. */
export const createOidcProviderSchema = z.strictObject({
  kind: z.literal('oidc'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'use 1-63 letters, digits, space, . _ or -'),
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
    .optional(),
});

export interface IdentityProviderView {
  id: string;
  tenantId: string;
  kind: 'oidc' | 'saml';
  name: string;
  enabled: boolean;
  /** Settings without the secret. */
  settings: Record<string, unknown>;
  /** Register this at the identity provider. */
  redirectUri: string;
  loginUrl: string;
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
 * A tenant's sign-in connectors. The client secret is sealed at rest with CAUSEWAY_CA_SEAL_KEY,
 * never returned, and unsealed only to build a connector (kept in memory afterwards).
 */
@Injectable()
export class IdentityProvidersService {
  private readonly connectors = new Map<string, Promise<OidcConnector>>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: ControlPlaneConfig,
    private readonly audit: AuditService,
  ) {}

  redirectUri(tenantSlug: string): string {
    return `${this.config.publicUrl}/api/v1/auth/${tenantSlug}/oidc/callback`;
  }

  async create(tenantSlug: string, input: unknown, actor: string): Promise<IdentityProviderView> {
    const body = parseInput(createOidcProviderSchema, input, 'identity provider');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const sealKey = this.config.caSealKey;
    if (sealKey === undefined) {
      throw new CausewayError(
        'enrolment_unavailable',
        'Sign-in connectors need CAUSEWAY_CA_SEAL_KEY to keep their secrets sealed.',
      );
    }
    const { clientSecret, kind, name, ...rest } = body;
    const settings = { ...rest, redirectUri: this.redirectUri(tenant.slug) };
    try {
      parseOidcConnectorConfig(
        { ...settings, clientSecret },
        { allowInsecureHttp: this.config.devAllowHttpIdp },
      );
    } catch (error) {
      if (error instanceof OidcConfigError)
        throw new CausewayError('validation_failed', error.message);
      throw error;
    }
    const id = randomUUID();
    try {
      await this.db.query(
        `INSERT INTO identity_providers (id, tenant_id, kind, name, settings, sealed_secret, enabled, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, true, $7)`,
        [
          id,
          tenant.id,
          kind,
          name,
          JSON.stringify(settings),
          await sealSecret(clientSecret, sealKey, SECRET_PURPOSE),
          this.clock.now(),
        ],
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
      connector = (async () =>
        new OidcConnector(
          {
            ...row.settings,
            clientSecret: await unsealSecret(sealed, this.config.caSealKey ?? '', SECRET_PURPOSE),
          },
          { clock: this.clock, allowInsecureHttp: this.config.devAllowHttpIdp },
        ))();
      connector.catch(() => this.connectors.delete(providerId));
      this.connectors.set(providerId, connector);
    }
    return connector;
  }

  private async row(tenantId: string, id: string): Promise<ProviderRow | undefined> {
    const rows = await this.db.query<ProviderRow[]>(
      'SELECT * FROM identity_providers WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return rows[0];
  }

  private view(slug: string, row: ProviderRow): IdentityProviderView {
    return {
      id: row.id,
      tenantId: row.tenant_id,
      kind: row.kind,
      name: row.name,
      enabled: row.enabled,
      settings: row.settings,
      redirectUri: this.redirectUri(slug),
      loginUrl: `${this.config.publicUrl}/api/v1/auth/${slug}/oidc/login?provider=${row.id}`,
      createdAt: row.created_at.toISOString(),
    };
  }
}
