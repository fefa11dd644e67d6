import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { CausewayError } from '@causeway/contracts';
import { AuditService } from '../../audit/audit.service';
import { ShortLivedCache } from '../../common/short-lived-cache';
import { parseInput } from '../../common/validation';
import { TenantsService } from '../../tenants/tenants.service';
import { AllowList } from './allow-list';
import { AllowListError } from './allow-list.errors';

export const allowListBodySchema = z.strictObject({
  entries: z.array(z.string().max(100)).max(500),
});

/**
 * Each tenant's IP allow-list, enforced on every request of the tenant's signed-in users and at
 * sign-in. An empty list allows every address.
 */
@Injectable()
export class TenantAllowListsService {
  private readonly cache = new ShortLivedCache<AllowList>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  async get(tenantSlug: string): Promise<{ entries: string[] }> {
    const tenant = await this.tenants.getBySlug(tenantSlug);
    return { entries: (await this.read(tenant.id)).entries };
  }

  async set(tenantSlug: string, input: unknown, actor: string): Promise<{ entries: string[] }> {
    const { entries } = parseInput(allowListBodySchema, input, 'allow-list');
    let list: AllowList;
    try {
      list = AllowList.parse(entries);
    } catch (error) {
      if (error instanceof AllowListError)
        throw new CausewayError('validation_failed', error.message);
      throw error;
    }
    const tenant = await this.tenants.getBySlug(tenantSlug);
    await this.db.query('UPDATE tenants SET allow_list = $1 WHERE id = $2', [
      list.entries,
      tenant.id,
    ]);
    this.cache.forget(tenant.id);
    await this.audit.record({
      tenantId: tenant.id,
      type: 'config.allow_list.changed',
      outcome: 'success',
      actor,
      details: { entries: list.entries.join(',') },
    });
    return { entries: list.entries };
  }

  /** Refuses (403 address_not_allowed, logged) an address outside the tenant's allow-list. */
  async assertAllowed(tenantId: string, address: string | undefined, who: string): Promise<void> {
    const list = await this.read(tenantId);
    if (list.allowsAll) return;
    if (address !== undefined && list.allows(address)) return;
    await this.audit.record({
      tenantId,
      type: 'access.address_refused',
      outcome: 'failure',
      actor: who,
      reason: 'address_not_allowed',
      ip: address ?? null,
    });
    throw new CausewayError('address_not_allowed');
  }

  private read(tenantId: string): Promise<AllowList> {
    return this.cache.get(tenantId, async () => {
      const rows = await this.db.query<Array<{ allow_list: string[] }>>(
        'SELECT allow_list FROM tenants WHERE id = $1',
        [tenantId],
      );
      // Stored entries were validated when written.
      return AllowList.parse(rows[0]?.allow_list ?? []);
    });
  }
}
