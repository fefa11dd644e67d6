import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import type { DataSource, Repository } from 'typeorm';
import {
  BridgeClient,
  BridgeTopology,
  HEADER_DETAIL,
  HEADER_NODE,
  HEADER_ORIGINAL_QUEUE,
  HEADER_REASON,
  decode,
} from '@causeway/bridge';
import {
  BRIDGE_METHODS,
  CausewayError,
  isBridgeMethod,
  requestEnvelopeSchema,
} from '@causeway/contracts';
import { Clock } from '../common/clock';
import { DeadLetterEntity } from './dead-letter.entity';

export interface DeadLetterSummary {
  id: string;
  receivedAt: string;
  reason: string;
  detail: string;
  nodeId: string | null;
  sourceQueue: string | null;
  messageId: string | null;
  attempts: number | null;
  size: number;
  replayedAt: string | null;
  replayCount: number;
}

export interface DeadLetterDetail extends DeadLetterSummary {
  contentType: string | null;
  headers: Record<string, unknown>;
  /** The body as text when it is valid UTF-8, otherwise base64; at most 64 KiB. */
  body: { encoding: 'utf8' | 'base64'; data: string; truncated: boolean };
}

const MAX_BODY = 64 * 1024;

@Injectable()
export class DeadLettersService {
  constructor(
    @InjectRepository(DeadLetterEntity) private readonly deadLetters: Repository<DeadLetterEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly bridge: BridgeClient,
    private readonly topology: BridgeTopology,
    private readonly clock: Clock,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('DeadLettersService');
  }

  async list(filter: { nodeId?: string; limit: number }): Promise<DeadLetterSummary[]> {
    const rows = await this.deadLetters.find({
      where: filter.nodeId ? { nodeId: filter.nodeId } : {},
      order: { receivedAt: 'DESC' },
      take: filter.limit,
    });
    return rows.map(summary);
  }

  async get(id: string): Promise<DeadLetterDetail> {
    const row = await this.require(id);
    const slice = row.body.subarray(0, MAX_BODY);
    const asText = slice.toString('utf8');
    const isText = Buffer.from(asText, 'utf8').equals(slice);
    return {
      ...summary(row),
      contentType: row.contentType,
      headers: row.headers,
      body: {
        encoding: isText ? 'utf8' : 'base64',
        data: isText ? asText : slice.toString('base64'),
        truncated: row.body.length > MAX_BODY,
      },
    };
  }

  /**
   * Sends the message again, byte for byte, to the node queue it died in. Only node request
   * queues of this installation are accepted as targets. The node still deduplicates
   * state-changing requests by message id, so replaying a completed one does no harm.
   */
  async replay(id: string, caller: { subject: string }): Promise<DeadLetterSummary> {
    const row = await this.require(id);
    if (!row.nodeId || row.sourceQueue !== this.topology.nodeRpcQueue(row.nodeId)) {
      throw new CausewayError(
        'conflict',
        'This dead letter did not come from a node request queue; it cannot be replayed.',
      );
    }
    const headers = Object.fromEntries(
      Object.entries(row.headers).filter(
        ([k]) =>
          !k.startsWith('x-death') &&
          !k.startsWith('x-first-death') &&
          !k.startsWith('x-last-death') &&
          ![
            HEADER_REASON,
            HEADER_DETAIL,
            HEADER_NODE,
            HEADER_ORIGINAL_QUEUE,
            'x-delivery-count',
          ].includes(k),
      ),
    );
    // The original delegation expired long ago: a request goes back with a fresh one, on the
    // replaying operator's behalf. Anything else goes back without, and the node refuses it.
    const envelope = decode(row.body, requestEnvelopeSchema);
    const tenant = await this.dataSource.query<Array<{ tenant_id: string }>>(
      'SELECT tenant_id FROM nodes WHERE id = $1 AND revoked_at IS NULL',
      [row.nodeId],
    );
    if (envelope.ok && tenant[0]) {
      const permission = isBridgeMethod(envelope.value.method)
        ? BRIDGE_METHODS[envelope.value.method].permission
        : null;
      Object.assign(
        headers,
        await this.bridge.delegationHeaders(
          row.nodeId,
          {
            subject: caller.subject,
            tenantId: tenant[0].tenant_id,
            permissions: permission === null ? [] : [permission],
          },
          envelope.value,
          row.body,
        ),
      );
    }
    await this.bridge.publishRaw(
      row.sourceQueue,
      row.body,
      {
        ...(row.messageId ? { messageId: row.messageId } : {}),
        ...(row.contentType ? { contentType: row.contentType } : {}),
        headers: { ...headers, 'x-causeway-replay-of': row.id },
      },
      5000,
    );
    await this.deadLetters.update(
      { id },
      { replayedAt: this.clock.now(), replayCount: row.replayCount + 1 },
    );
    this.logger.info({ deadLetterId: id, queue: row.sourceQueue }, 'dead letter replayed');
    return summary(await this.require(id));
  }

  private async require(id: string): Promise<DeadLetterEntity> {
    const row = await this.deadLetters.findOneBy({ id });
    if (!row) throw new CausewayError('not_found', 'No dead letter with this id exists.');
    return row;
  }
}

function summary(row: DeadLetterEntity): DeadLetterSummary {
  return {
    id: row.id,
    receivedAt: row.receivedAt.toISOString(),
    reason: row.reason,
    detail: row.detail,
    nodeId: row.nodeId,
    sourceQueue: row.sourceQueue,
    messageId: row.messageId,
    attempts: row.attempts,
    size: row.body.length,
    replayedAt: row.replayedAt?.toISOString() ?? null,
    replayCount: row.replayCount,
  };
}
