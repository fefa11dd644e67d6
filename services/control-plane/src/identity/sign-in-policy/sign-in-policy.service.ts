import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { AuditService } from '../../audit/audit.service';
import { ShortLivedCache } from '../../common/short-lived-cache';
import { parseInput } from '../../common/validation';
import { TenantsService } from '../../tenants/tenants.service';

/** How a tenant's people may sign in, beside its SSO connectors. */
export interface SignInPolicy {
  /** Local passwords (argon2id); off by default: SSO first. */
  passwordsAllowed: boolean;
  /** One-time codes sent by email (partners without SSO); on by default. */
  emailCodesAllowed: boolean;
  /** Every session must be confirmed with an authenticator code or a recovery code. */
  requireSecondFactor: boolean;
}

export const signInPolicySchema = z.strictObject({
  passwordsAllowed: z.boolean().optional(),
  emailCodesAllowed: z.boolean().optional(),
  requireSecondFactor: z.boolean().optional(),
});

interface Row {
  passwords_allowed: boolean;
  email_codes_allowed: boolean;
  require_second_factor: boolean;
}

@Injectable()
export class SignInPolicyService {
  private readonly cache = new ShortLivedCache<SignInPolicy>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  async get(tenantSlug: string): Promise<SignInPolicy> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    return this.forTenant(tenant.id);
  }

  /** Changes the named settings only; the others keep their value. */
  async update(tenantSlug: string, input: unknown, actor: string): Promise<SignInPolicy> {
    const change = parseInput(signInPolicySchema, input, 'sign-in policy');
    const tenant = await this.tenants.getBySlug(tenantSlug);
    await this.db.query(
      `UPDATE tenants SET
         passwords_allowed = COALESCE($2, passwords_allowed),
         email_codes_allowed = COALESCE($3, email_codes_allowed),
         require_second_factor = COALESCE($4, require_second_factor)
       WHERE id = $1`,
      [
        tenant.id,
        change.passwordsAllowed ?? null,
        change.emailCodesAllowed ?? null,
        change.requireSecondFactor ?? null,
      ],
    );
    this.cache.forget(tenant.id);
    const policy = await this.forTenant(tenant.id);
    await this.audit.record({
      tenantId: tenant.id,
      type: 'config.sign_in_policy.changed',
      outcome: 'success',
      actor,
      details: { ...policy },
    });
    return policy;
  }

  forTenant(tenantId: string): Promise<SignInPolicy> {
    return this.cache.get(tenantId, async () => {
      const rows = await this.db.query<Row[]>(
        'SELECT passwords_allowed, email_codes_allowed, require_second_factor FROM tenants WHERE id = $1',
        [tenantId],
      );
      const row = rows[0];
      // An unknown tenant gets the strictest answer.
      return {
        passwordsAllowed: row?.passwords_allowed ?? false,
        emailCodesAllowed: row?.email_codes_allowed ?? false,
        requireSecondFactor: row?.require_second_factor ?? true,
      };
    });
  }
}
