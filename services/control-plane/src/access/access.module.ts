import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AllowListModule } from '../identity/allow-list/allow-list.module';
import { SessionsModule } from '../sessions/sessions.module';
import { AccessGuard } from './access.guard';

@Module({
  imports: [SessionsModule, AllowListModule],
  providers: [{ provide: APP_GUARD, useClass: AccessGuard }],
})
export class AccessModule {}
