import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SessionsModule } from '../sessions/sessions.module';
import { AccessGuard } from './access.guard';

@Module({ imports: [SessionsModule], providers: [{ provide: APP_GUARD, useClass: AccessGuard }] })
export class AccessModule {}
