import { Module } from '@nestjs/common';
import { TenantsModule } from '../../tenants/tenants.module';
import { AllowListController } from './allow-list.controller';
import { TenantAllowListsService } from './tenant-allow-lists.service';

@Module({
  imports: [TenantsModule],
  controllers: [AllowListController],
  providers: [TenantAllowListsService],
  exports: [TenantAllowListsService],
})
export class AllowListModule {}
