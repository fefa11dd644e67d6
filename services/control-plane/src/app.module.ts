import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Logger } from 'pino';
import { AccessModule } from './access/access.module';
import { BridgeModule } from './bridge/bridge.module';
import { Clock, SystemClock } from './common/clock';
import { ErrorFilter } from './common/error.filter';
import { CONFIG, type ControlPlaneConfig } from './config/config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging';
import { EnrolmentModule } from './enrolment/enrolment.module';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { NodesModule } from './nodes/nodes.module';
import { OutboxModule } from './outbox/outbox.module';
import { WorkspacesModule } from './workspaces/workspaces.module';
import { KeyRotationModule } from './trust/key-rotation.module';
import { SignInModule } from './identity/sign-in/sign-in.module';
import { TrustModule } from './trust/trust.module';
import { AuditModule } from './audit/audit.module';
import { AuditedRoutesModule } from './audited-routes/audited-routes.module';
import { SignInHousekeepingModule } from './identity/housekeeping/sign-in-housekeeping';
import { SignInPolicyModule } from './identity/sign-in-policy/sign-in-policy.module';
import { LocalSignInModule } from './identity/local-sign-in/local-sign-in.module';
import { TenantAdminModule } from './tenant-admin/tenant-admin.module';
import { InvitationsModule } from './invitations/invitations.module';
import { RolesModule } from './roles/roles.module';
import { FilesModule } from './files/files.module';
import { WorkspaceKeysModule } from './workspace-keys/workspace-keys.module';
import { AlertsModule } from './alerts/alerts.module';
import { ConsoleModule } from './console/console.module';

export interface AppModuleOptions {
  config: ControlPlaneConfig;
  logger: Logger;
  clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        LoggingModule.forRoot(options.logger),
        DatabaseModule,
        AuditModule,
        AuditedRoutesModule,
        TrustModule,
        BridgeModule,
        AccessModule,
        HealthModule,
        NodesModule,
        OutboxModule,
        WorkspacesModule,
        DeadLettersModule,
        EnrolmentModule,
        KeyRotationModule,
        SignInModule,
        SignInPolicyModule,
        SignInHousekeepingModule,
        LocalSignInModule,
        TenantAdminModule,
        InvitationsModule,
        RolesModule,
        FilesModule,
        WorkspaceKeysModule,
        AlertsModule,
        ConsoleModule,
      ],
      providers: [
        { provide: CONFIG, useValue: options.config },
        { provide: Clock, useValue: options.clock ?? new SystemClock() },
        { provide: APP_FILTER, useClass: ErrorFilter },
      ],
      exports: [CONFIG, Clock],
    };
  }
}
