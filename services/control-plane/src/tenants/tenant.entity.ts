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

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
