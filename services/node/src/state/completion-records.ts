import { replyEnvelopeSchema, type ReplyEnvelope } from '@causeway/contracts';
import type { CompletionStore } from '@causeway/bridge';
import type { NodeStore } from './node-store';

/** Replies of completed state-changing requests, by message id, in the node's database. */
export class CompletionRecords implements CompletionStore {
  constructor(private readonly store: NodeStore) {}

  find(messageId: string): ReplyEnvelope | undefined {
    const row = this.store.db
      .prepare('SELECT reply FROM completed_requests WHERE message_id = ?')
      .get(messageId) as { reply: string } | undefined;
    return row ? replyEnvelopeSchema.parse(JSON.parse(row.reply)) : undefined;
  }

  record(messageId: string, method: string, reply: ReplyEnvelope): void {
    // INSERT OR IGNORE: two deliveries racing on one node keep the first reply.
    this.store.db
      .prepare(
        'INSERT OR IGNORE INTO completed_requests (message_id, method, reply, completed_at) VALUES (?, ?, ?, ?)',
      )
      .run(messageId, method, JSON.stringify(reply), new Date().toISOString());
  }
}
