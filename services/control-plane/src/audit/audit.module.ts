import { Global, Module } from '@nestjs/common';
import { TenantsModule } from '../tenants/tenants.module';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/** Global: every module that changes state or signs people in records through AuditService. */
@Global()
@Module({
  imports: [TenantsModule],
  controllers: [AuditController],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
