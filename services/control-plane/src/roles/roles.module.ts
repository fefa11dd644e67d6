import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TenantsModule } from '../tenants/tenants.module';
import { AccessExplainService } from './access-explain.service';
import { RolesController, UsersAdminController } from './roles.controller';
import { RolesRepository } from './roles.repository';
import { RolesService } from './roles.service';
import { TenantUsersRepository } from './tenant-users.repository';
import { UsersAdminService } from './users-admin.service';

/** Custom roles, role assignments, "why may they?" and the tenant's users admin. */
@Module({
  imports: [AccessModule, SessionsModule, TenantsModule],
  controllers: [RolesController, UsersAdminController],
  providers: [
    RolesRepository,
    RolesService,
    AccessExplainService,
    TenantUsersRepository,
    UsersAdminService,
  ],
})
export class RolesModule {}
