import { Module } from '@nestjs/common';
import { TenantsModule } from '../../tenants/tenants.module';
import { SignInPolicyController } from './sign-in-policy.controller';
import { SignInPolicyService } from './sign-in-policy.service';

@Module({
  imports: [TenantsModule],
  controllers: [SignInPolicyController],
  providers: [SignInPolicyService],
  exports: [SignInPolicyService],
})
export class SignInPolicyModule {}
