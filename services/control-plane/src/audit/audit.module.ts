import { Global, Module } from '@nestjs/common';
import { TenantsModule } from '../tenants/tenants.module';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';
import { AuditQueryRepository } from './audit-query.repository';
import { AuditQueryService } from './audit-query.service';
import { Pseudonyms } from './pseudonyms';
import { AUDIT_ARCHIVE, AuditTrailService } from './audit-trail.service';
import { createAuditArchive } from './create-audit-archive';
import { AuditVerifyController } from './audit-verify.controller';
import { CONFIG, type ControlPlaneConfig } from '../config/config';

/** Global: every module that changes state or signs people in records through AuditService. */
@Global()
@Module({
  imports: [TenantsModule],
  // The verify route first, so that no parameterised route of AuditController shadows it.
  controllers: [AuditVerifyController, AuditController],
  providers: [
    AuditService,
    AuditQueryService,
    AuditQueryRepository,
    Pseudonyms,
    AuditTrailService,
    {
      provide: AUDIT_ARCHIVE,
      inject: [CONFIG],
      useFactory: (config: ControlPlaneConfig) => createAuditArchive(config.audit.archive),
    },
  ],
  exports: [AuditService, AuditTrailService],
})
export class AuditModule {}
