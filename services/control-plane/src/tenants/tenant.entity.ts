import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'tenants' })
export class TenantEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** The tenant's stable corporate identifier, used in URLs. */
  @Column('text', { unique: true })
  slug!: string;

  @Column('text')
  name!: string;

  /** Data-residency region: the tenant's workspaces live on nodes of this region. */
  @Column('text')
  region!: string;

  /** How long the tenant's audit trail and deleted documents are kept, in days. */
  @Column('integer', { name: 'retention_days', default: 365 })
  retentionDays!: number;

  /** How often the nodes rotate the tenant's master keys, in days. */
  @Column('integer', { name: 'key_rotation_days', default: 90 })
  keyRotationDays!: number;

  /** `deleting` while the nodes destroy its workspaces' keys, then `deleted`. */
  @Column('text', { default: 'active' })
  state!: 'active' | 'deleting' | 'deleted';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
