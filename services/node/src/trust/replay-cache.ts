import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ReplayCache } from '@causeway/bridge';
import type { NodeStore } from '../state/node-store';

/** Expired ids are swept at most this often. */
const SWEEP_EVERY_MS = 30_000;

/**
 * Delegation token ids this node has accepted, in its database until the token expires, so a
 * token captured on the broker cannot be replayed, not even after the node restarts.
 */
export class DurableReplayCache implements ReplayCache {
  private readonly insert;
  private readonly sweep;
  private lastSweep = 0;
  private readonly db: Database.Database;

  constructor(
    store: NodeStore,
    private readonly now: () => number = Date.now,
  ) {
    // Its own connection with synchronous=NORMAL: an fsync per request would halve the
    // node's throughput. A crash of the process loses nothing; a power cut may lose the last
    // ids, which only matters if the node is back within a token's lifetime (seconds).
    this.db = new Database(join(store.stateDir, 'node.db'));
    this.db.pragma('synchronous = NORMAL');
    this.insert = this.db.prepare(
      'INSERT OR IGNORE INTO seen_tokens (jti, expires_at) VALUES (?, ?)',
    );
    this.sweep = this.db.prepare('DELETE FROM seen_tokens WHERE expires_at < ?');
  }

  remember(jti: string, expiresAtSeconds: number): boolean {
    const now = this.now();
    if (now - this.lastSweep > SWEEP_EVERY_MS) {
      this.sweep.run(Math.floor(now / 1000));
      this.lastSweep = now;
    }
    return this.insert.run(jti, expiresAtSeconds).changes === 1;
  }

  close(): void {
    this.db.close();
  }
}
