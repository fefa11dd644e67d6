import { DataSource, type DataSourceOptions } from 'typeorm';
import { NodeEntity } from '../nodes/node.entity';
import { TenantEntity } from '../tenants/tenant.entity';
import { Initial1795400000000 } from './migrations/1795400000000-initial';
import { OutboxWorkspacesDeadLetters1795410000000 } from './migrations/1795410000000-outbox-workspaces-dead-letters';
import { Enrolment1795420000000 } from './migrations/1795420000000-enrolment';
import { OutboxOpenIndex1795430000000 } from './migrations/1795430000000-outbox-open-index';
import { NodeRevocation1795440000000 } from './migrations/1795440000000-node-revocation';
import { Trust1795450000000 } from './migrations/1795450000000-trust';
import { UsersSessions1795460000000 } from './migrations/1795460000000-users-sessions';
import { IdentityProviders1795470000000 } from './migrations/1795470000000-identity-providers';
import { TenantAllowList1795480000000 } from './migrations/1795480000000-tenant-allow-list';
import { SignIn1795490000000 } from './migrations/1795490000000-sign-in';
import { Roles1795500000000 } from './migrations/1795500000000-roles';
import { WorkspaceDeletion1795510000000 } from './migrations/1795510000000-workspace-deletion';
import { Uploads1795520000000 } from './migrations/1795520000000-uploads';
import { KeyRotationRevision1795541000000 } from './migrations/1795541000000-key-rotation-revision';
import { UploadLifecycle1795536000000 } from './migrations/1795536000000-upload-lifecycle';
import { TenantDeletion1795560000000 } from './migrations/1795560000000-tenant-deletion';
import { AuditChain1795570000000 } from './migrations/1795570000000-audit-chain';
import { AuditQuery1795575000000 } from './migrations/1795575000000-audit-query';
import { Alerts1795580000000 } from './migrations/1795580000000-alerts';
import { AuditVerifyIndex1795585000000 } from './migrations/1795585000000-audit-verify-index';
import { JoinTokenEntity } from '../enrolment/join-token.entity';
import { DeadLetterEntity } from '../dead-letters/dead-letter.entity';
import { OutboxEntity } from '../outbox/outbox.entity';
import { WorkspaceEntity } from '../workspaces/workspace.entity';

export const ENTITIES = [
  TenantEntity,
  NodeEntity,
  WorkspaceEntity,
  OutboxEntity,
  DeadLetterEntity,
  JoinTokenEntity,
];
export const MIGRATIONS = [
  Initial1795400000000,
  OutboxWorkspacesDeadLetters1795410000000,
  Enrolment1795420000000,
  OutboxOpenIndex1795430000000,
  NodeRevocation1795440000000,
  Trust1795450000000,
  UsersSessions1795460000000,
  IdentityProviders1795470000000,
  TenantAllowList1795480000000,
  SignIn1795490000000,
  Roles1795500000000,
  WorkspaceDeletion1795510000000,
  Uploads1795520000000,
  UploadLifecycle1795536000000,
  KeyRotationRevision1795541000000,
  TenantDeletion1795560000000,
  AuditChain1795570000000,
  AuditQuery1795575000000,
  Alerts1795580000000,
  AuditVerifyIndex1795585000000,
];

/**
 * Options shared by the app and the CLI. The schema is only ever changed by migrations; schema
 * synchronisation stays off everywhere.
 */
export function dataSourceOptions(databaseUrl: string): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: { max: 10, connectionTimeoutMillis: 5000 },
  };
}

/** Applies pending migrations; returns the names of those it ran. */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  const dataSource = new DataSource(dataSourceOptions(databaseUrl));
  await dataSource.initialize();
  try {
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
