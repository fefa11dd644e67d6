import { Module } from '@nestjs/common';
import { TenantsModule } from '../tenants/tenants.module';
import { SignInPolicyModule } from '../identity/sign-in-policy/sign-in-policy.module';
import { UsersRepository } from '../users/users.repository';
import { SessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';

@Module({
  imports: [TenantsModule, SignInPolicyModule],
  controllers: [SessionsController],
  providers: [SessionsRepository, SessionsService, UsersRepository],
  exports: [SessionsService, UsersRepository],
})
export class SessionsModule {}
