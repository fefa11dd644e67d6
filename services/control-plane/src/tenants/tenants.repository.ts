import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { TenantEntity } from './tenant.entity';

@Injectable()
export class TenantsRepository {
  constructor(@InjectRepository(TenantEntity) private readonly tenants: Repository<TenantEntity>) {}

  findBySlug(slug: string): Promise<TenantEntity | null> {
    return this.tenants.findOneBy({ slug });
  }

  findById(id: string): Promise<TenantEntity | null> {
    return this.tenants.findOneBy({ id });
  }

  /** Platform scope: every tenant. Only the platform operator reaches this. */
  listAll(): Promise<TenantEntity[]> {
    return this.tenants.find({ order: { createdAt: 'ASC' } });
  }

  async insert(
    tenant: Omit<TenantEntity, 'createdAt' | 'retentionDays' | 'keyRotationDays' | 'state'> &
      Partial<Pick<TenantEntity, 'retentionDays' | 'keyRotationDays'>>,
  ): Promise<TenantEntity> {
    await this.tenants.insert(tenant);
    return (await this.findById(tenant.id)) as TenantEntity;
  }
}
