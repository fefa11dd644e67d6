import type { KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { loadSigningPublicKey, signingKeyId } from '@causeway/crypto';
import { Clock } from '../common/clock';

/** Re-read at least this often, so a revocation or renewal by another instance takes effect. */
const CACHE_MS = 2000;
/** An unknown key id triggers a fresh read at most this often per node (forgeries cost little). */
const MISS_REFRESH_MS = 100;

/**
 * The keys each node signs its messages with, as the control plane accepts them: the current
 * one and, after a renewal, the previous one (replies signed just before it are in flight).
 * A revoked node has none, so nothing it sends is accepted.
 */
@Injectable()
export class NodeKeys {
  private readonly cache = new Map<string, { keys: Map<string, KeyObject>; readAt: number }>();
  private readonly reading = new Map<string, Promise<Map<string, KeyObject>>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * The node's key with this id, or undefined: unknown node, revoked, or not its key. An id not
   * in the cached set is looked up once more in the database (the node may have just renewed,
   * through another instance), at most every MISS_REFRESH_MS per node.
   */
  async lookup(nodeId: string, kid: string): Promise<KeyObject | undefined> {
    const key = (await this.keysOf(nodeId)).get(kid);
    if (key) return key;
    const cached = this.cache.get(nodeId);
    if (cached && Date.now() - cached.readAt >= MISS_REFRESH_MS) {
      this.cache.delete(nodeId);
      return (await this.keysOf(nodeId)).get(kid);
    }
    return undefined;
  }

  /** Forgets what this instance knows of a node (after its revocation or renewal). */
  invalidate(nodeId: string): void {
    this.cache.delete(nodeId);
  }

  private keysOf(nodeId: string): Promise<Map<string, KeyObject>> {
    const cached = this.cache.get(nodeId);
    if (cached && Date.now() - cached.readAt < CACHE_MS) return Promise.resolve(cached.keys);
    let pending = this.reading.get(nodeId);
    if (!pending) {
      pending = this.read(nodeId).finally(() => this.reading.delete(nodeId));
      this.reading.set(nodeId, pending);
    }
    return pending;
  }

  private async read(nodeId: string): Promise<Map<string, KeyObject>> {
    const rows = await this.dataSource.query<
      Array<{ signing_key_pem: string | null; previous_signing_key_pem: string | null }>
    >(
      // A node whose certificate expired is not trusted either: it must enrol again.
      `SELECT signing_key_pem, previous_signing_key_pem FROM nodes
       WHERE id = $1 AND revoked_at IS NULL AND (cert_not_after IS NULL OR cert_not_after > $2)`,
      [nodeId, this.clock.now()],
    );
    const keys = new Map<string, KeyObject>();
    for (const pem of [rows[0]?.signing_key_pem, rows[0]?.previous_signing_key_pem]) {
      if (!pem) continue;
      const key = loadSigningPublicKey(pem);
      keys.set(signingKeyId(key), key);
    }
    this.cache.set(nodeId, { keys, readAt: Date.now() });
    return keys;
  }
}
