import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { TenantsModule } from '../tenants/tenants.module';
import { EnrolmentController } from './enrolment.controller';
import { EnrolmentService } from './enrolment.service';
import { CertificateRenewal } from './certificate-renewal';

@Module({
  imports: [TenantsModule, NodesModule],
  controllers: [EnrolmentController],
  exports: [EnrolmentService],
  providers: [EnrolmentService, CertificateRenewal],
})
export class EnrolmentModule {}
