import { Module } from '@nestjs/common';
import { SessionsModule } from '../../sessions/sessions.module';
import { AllowListModule } from '../allow-list/allow-list.module';
import { TenantsModule } from '../../tenants/tenants.module';
import { IdentityProvidersService } from './identity-providers.service';
import { OidcSignInService } from './oidc-sign-in.service';
import { SignInController } from './sign-in.controller';

@Module({
  imports: [TenantsModule, SessionsModule, AllowListModule],
  controllers: [SignInController],
  providers: [IdentityProvidersService, OidcSignInService],
})
export class SignInModule {}
