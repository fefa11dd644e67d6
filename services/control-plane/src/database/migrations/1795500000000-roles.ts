import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenants' settings, users' kind and SSO groups, custom roles, role assignments (on the
 * tenant, a workspace or a folder) and partner invitations.
 */
export class Roles1795500000000 implements MigrationInterface {
  name = 'Roles1795500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tenants
        ADD COLUMN retention_days integer NOT NULL DEFAULT 365,
        ADD COLUMN key_rotation_days integer NOT NULL DEFAULT 90`);
    // A partner is a person from another company: roles only on workspaces or folders.
    await q.query(`
      ALTER TABLE users
        ADD COLUMN kind text NOT NULL DEFAULT 'member',
        ADD COLUMN sso_groups text[] NOT NULL DEFAULT '{}',
        ADD CONSTRAINT users_kind_check CHECK (kind IN ('member', 'partner'))`);
    // Custom roles only: the built-in ones are the templates themselves (libs/contracts).
    await q.query(`
      CREATE TABLE roles (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        name text NOT NULL,
        template text NOT NULL,
        description text NOT NULL DEFAULT '',
        permissions text[] NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        CONSTRAINT roles_pk PRIMARY KEY (id),
        CONSTRAINT roles_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
        CONSTRAINT roles_tenant_name_unique UNIQUE (tenant_id, name)
      )`);
    // principal: 'user:<id>' or 'group:<name>' (an SSO group). Built-in roles by name
    // (role_id NULL), custom roles by id (removed with the role).
    await q.query(`
      CREATE TABLE role_assignments (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        role_name text NOT NULL,
        role_id uuid,
        principal text NOT NULL,
        scope_type text NOT NULL,
        workspace_id uuid,
        folder_path text,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        CONSTRAINT role_assignments_pk PRIMARY KEY (id),
        CONSTRAINT role_assignments_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
        CONSTRAINT role_assignments_role_fk FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE,
        CONSTRAINT role_assignments_workspace_fk FOREIGN KEY (workspace_id)
          REFERENCES workspaces (id) ON DELETE CASCADE,
        CONSTRAINT role_assignments_scope_check CHECK (
          (scope_type = 'tenant' AND workspace_id IS NULL AND folder_path IS NULL) OR
          (scope_type = 'workspace' AND workspace_id IS NOT NULL AND folder_path IS NULL) OR
          (scope_type = 'folder' AND workspace_id IS NOT NULL AND folder_path IS NOT NULL)),
        CONSTRAINT role_assignments_principal_check CHECK (principal ~ '^(user|group):.+$')
      )`);
    await q.query(`
      CREATE UNIQUE INDEX role_assignments_unique ON role_assignments
        (tenant_id, role_name, principal, scope_type, coalesce(workspace_id::text, ''), coalesce(folder_path, ''))`);
    await q.query(
      `CREATE INDEX role_assignments_principal ON role_assignments (tenant_id, principal)`,
    );
    await q.query(`
      CREATE TABLE invitations (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        email text NOT NULL,
        role_name text NOT NULL,
        user_id uuid NOT NULL,
        assignment_id uuid,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT invitations_pk PRIMARY KEY (id),
        CONSTRAINT invitations_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
        CONSTRAINT invitations_workspace_fk FOREIGN KEY (workspace_id)
          REFERENCES workspaces (id) ON DELETE CASCADE,
        CONSTRAINT invitations_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
      )`);
    await q.query(`CREATE INDEX invitations_tenant ON invitations (tenant_id, created_at)`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('Causeway migrations are forward-only.'));
  }
}
