import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A message the bridge could not deliver, kept with the reason so it can be inspected and replayed. */
@Entity({ name: 'dead_letters' })
export class DeadLetterEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('timestamptz', { name: 'received_at' })
  receivedAt!: Date;

  /** Machine-readable: invalid_json, invalid_envelope, delivery_limit, rejected, expired... */
  @Column('text')
  reason!: string;

  @Column('text')
  detail!: string;

  @Column('uuid', { name: 'node_id', nullable: true })
  nodeId!: string | null;

  @Column('text', { name: 'source_queue', nullable: true })
  sourceQueue!: string | null;

  @Column('text', { name: 'message_id', nullable: true })
  messageId!: string | null;

  @Column('integer', { nullable: true })
  attempts!: number | null;

  @Column('text', { name: 'content_type', nullable: true })
  contentType!: string | null;

  @Column('jsonb')
  headers!: Record<string, unknown>;

  @Column('bytea')
  body!: Buffer;

  @Column('timestamptz', { name: 'replayed_at', nullable: true })
  replayedAt!: Date | null;

  @Column('integer', { name: 'replay_count' })
  replayCount!: number;
}
