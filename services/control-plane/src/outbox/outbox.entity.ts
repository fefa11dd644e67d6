import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { Principal } from '@causeway/contracts';

/**
 * A command to a node, written in the same transaction as the state change it belongs to and
 * published afterwards. Its id is the bridge message id: the node deduplicates by it.
 */
@Entity({ name: 'outbox' })
export class OutboxEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'node_id' })
  nodeId!: string;

  @Column('text')
  method!: string;

  @Column('jsonb')
  payload!: Record<string, unknown>;

  /** Who the command acts for (see Principal in libs/contracts). */
  @Column('jsonb', { nullable: true })
  principal!: Principal | null;

  @Column('text', { name: 'request_id' })
  requestId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz')
  deadline!: Date;

  @Column('integer')
  attempts!: number;

  @Column('timestamptz', { name: 'next_attempt_at' })
  nextAttemptAt!: Date;

  @Column('text', { name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column('timestamptz', { name: 'published_at', nullable: true })
  publishedAt!: Date | null;

  @Column('timestamptz', { name: 'completed_at', nullable: true })
  completedAt!: Date | null;

  @Column('jsonb', { nullable: true })
  result!: Record<string, unknown> | null;

  @Column('text', { name: 'error_code', nullable: true })
  errorCode!: string | null;

  @Column('text', { name: 'error_message', nullable: true })
  errorMessage!: string | null;
}
