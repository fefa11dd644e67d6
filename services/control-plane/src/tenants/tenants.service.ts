import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CausewayError } from '@causeway/contracts';
import { parseInput } from '../common/validation';
import { createTenantSchema, type CreateTenant } from './tenants.dto';
import type { TenantEntity } from './tenant.entity';
import { TenantsRepository } from './tenants.repository';

@Injectable()
export class TenantsService {
  constructor(private readonly tenants: TenantsRepository) {}

  async create(input: CreateTenant): Promise<TenantEntity> {
    const tenant = parseInput(createTenantSchema, input, 'tenant');
    if (await this.tenants.findBySlug(tenant.slug)) {
      throw new CausewayError(
        'conflict',
        `A tenant with the identifier "${tenant.slug}" already exists.`,
      );
    }
    return this.tenants.insert({ id: randomUUID(), ...tenant });
  }

  async getBySlug(slug: string): Promise<TenantEntity> {
    const tenant = await this.tenants.findBySlug(slug);
    if (!tenant) throw new CausewayError('not_found', `No tenant "${slug}" exists.`);
    return tenant;
  }

  /** The tenant, if nothing new may still be added to it (it is not being deleted). */
  async getActiveBySlug(slug: string): Promise<TenantEntity> {
    const tenant = await this.getBySlug(slug);
    if (tenant.state !== 'active') {
      throw new CausewayError('conflict', `Tenant "${slug}" is ${tenant.state}.`);
    }
    return tenant;
  }
}
