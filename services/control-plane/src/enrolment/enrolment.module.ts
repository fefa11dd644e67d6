import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module';
import { TenantsModule } from '../tenants/tenants.module';
import { CertificateAuthorityService } from './certificate-authority';
import { EnrolmentController } from './enrolment.controller';
import { EnrolmentService } from './enrolment.service';

@Module({
  imports: [TenantsModule, NodesModule],
  controllers: [EnrolmentController],
  providers: [CertificateAuthorityService, EnrolmentService],
})
export class EnrolmentModule {}
