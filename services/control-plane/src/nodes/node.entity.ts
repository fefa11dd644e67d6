import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type NodeState = 'registered' | 'up' | 'stopping';

@Entity({ name: 'nodes' })
export class NodeEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId!: string;

  @Column('text')
  name!: string;

  @Column('text')
  region!: string;

  /** Last state the node reported; online/offline is derived from it and the heartbeat age. */
  @Column('text')
  state!: NodeState;

  @Column('text', { nullable: true })
  version!: string | null;

  @Column('text', { nullable: true })
  hostname!: string | null;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'last_heartbeat_at', nullable: true })
  lastHeartbeatAt!: Date | null;

  /** The node's current certificate, issued at enrolment. */
  @Column('text', { name: 'cert_serial', nullable: true })
  certSerial!: string | null;

  @Column('timestamptz', { name: 'cert_not_after', nullable: true })
  certNotAfter!: Date | null;

  @Column('text', { name: 'cert_pem', nullable: true })
  certPem!: string | null;

  /** Ed25519 key (SPKI PEM) that signs the node's replies and heartbeats. */
  @Column('text', { name: 'signing_key_pem', nullable: true })
  signingKeyPem!: string | null;

  /** The key before the last renewal: replies signed just before it are still accepted. */
  @Column('text', { name: 'previous_signing_key_pem', nullable: true })
  previousSigningKeyPem!: string | null;

  @Column('timestamptz', { name: 'renewed_at', nullable: true })
  renewedAt!: Date | null;

  /** Set when the node was cut off: its broker user is gone and nothing of it is accepted. */
  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
