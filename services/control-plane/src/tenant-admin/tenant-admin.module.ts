import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { TenantsModule } from '../tenants/tenants.module';
import { WorkspaceKeysModule } from '../workspace-keys/workspace-keys.module';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { TenantAdminController } from './tenant-admin.controller';
import { TenantAdminService } from './tenant-admin.service';
import { TenantDeletion } from './tenant-deletion.service';

/** Tenants as the platform operator creates them and their admins configure them. */
@Module({
  imports: [TenantsModule, NodesModule, WorkspaceKeysModule, WorkspacesModule],
  controllers: [TenantAdminController],
  providers: [TenantAdminService, TenantDeletion],
  exports: [TenantAdminService],
})
export class TenantAdminModule {}
