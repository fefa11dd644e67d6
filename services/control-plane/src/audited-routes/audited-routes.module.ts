import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditedInterceptor } from './audited.interceptor';

/** Records the audit event each @Audited route declares (see audited.decorator.ts). */
@Module({
  providers: [{ provide: APP_INTERCEPTOR, useClass: AuditedInterceptor }],
})
export class AuditedRoutesModule {}
