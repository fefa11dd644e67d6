import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A one-time, expiring permission to enrol one node into a tenant and region. */
@Entity({ name: 'join_tokens' })
export class JoinTokenEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId!: string;

  @Column('text')
  region!: string;

  /** SHA-256 of the token: the token itself is shown once and never stored. */
  @Column('text', { name: 'token_hash' })
  tokenHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('timestamptz', { name: 'used_at', nullable: true })
  usedAt!: Date | null;

  @Column('uuid', { name: 'used_by_node', nullable: true })
  usedByNode!: string | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}
