import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AllowListModule } from '../identity/allow-list/allow-list.module';
import { SessionsModule } from '../sessions/sessions.module';
import { AccessGuard } from './access.guard';
import { GrantsRepository } from './grants.repository';
import { RefusalRecorder } from './refusal-recorder';
import { TenantsModule } from '../tenants/tenants.module';

@Module({
  imports: [SessionsModule, AllowListModule, TenantsModule],
  providers: [{ provide: APP_GUARD, useClass: AccessGuard }, GrantsRepository, RefusalRecorder],
  exports: [GrantsRepository],
})
export class AccessModule {}
