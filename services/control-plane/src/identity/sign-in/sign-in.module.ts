import { Module } from '@nestjs/common';
import { SessionsModule } from '../../sessions/sessions.module';
import { AllowListModule } from '../allow-list/allow-list.module';
import { TenantsModule } from '../../tenants/tenants.module';
import { IdentityProvidersService } from './identity-providers.service';
import { OidcSignInService } from './oidc-sign-in.service';
import { SamlSignInController } from './saml-sign-in.controller';
import { SamlSignInService } from './saml-sign-in.service';
import { SignInController } from './sign-in.controller';
import { SignInFlow } from './sign-in-flow.service';
import { SsoUsers } from './sso-users.service';
import { SignInPolicyModule } from '../sign-in-policy/sign-in-policy.module';

@Module({
  imports: [TenantsModule, SessionsModule, AllowListModule, SignInPolicyModule],
  controllers: [SignInController, SamlSignInController],
  providers: [IdentityProvidersService, OidcSignInService, SamlSignInService, SsoUsers, SignInFlow],
  exports: [SignInFlow, IdentityProvidersService],
})
export class SignInModule {}
