import type { SealingSecret } from '@causeway/crypto';
import type { NodeStore } from '../state/node-store';
import { envelopeDataKeyWrapper, type DataKeyWrapper } from './data-key-wrapper';
import { DataKeys } from './data-keys.service';
import { KeyDestruction } from './key-destruction.service';
import { noKeyEvents, type KeyEventSink } from './key-events';
import { KeyRotation } from './key-rotation.service';
import { KeysRepository } from './keys.repository';
import { Keystore } from './keystore';
import { MasterKeys } from './master-keys.service';

export interface NodeKeysOptions {
  /** From resolveNodeSealSecret: the CAUSEWAY_NODE_SEAL_KEY passphrase or the key file's bytes. */
  sealSecret: SealingSecret;
  now?: () => Date;
  events?: KeyEventSink;
  wrapper?: DataKeyWrapper;
  /** Data keys re-wrapped per transaction during rotation (default 500). */
  rotationBatchSize?: number;
  /** How long an unsealed master key stays in memory after its last use (default 5 minutes). */
  cacheIdleMs?: number;
  /** How often idle keys are swept from memory (default 60 s; 0 = only on use). */
  sweepIntervalMs?: number;
}

/**
 * The node's key management, assembled: open it once at start (it unseals the keystore, so a
 * wrong seal secret stops the node there), then call `rotation.resumeJobs()`.
 */
export class NodeKeys {
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(
    readonly keystore: Keystore,
    readonly masterKeys: MasterKeys,
    readonly dataKeys: DataKeys,
    readonly rotation: KeyRotation,
    readonly destruction: KeyDestruction,
  ) {}

  static async open(store: NodeStore, options: NodeKeysOptions): Promise<NodeKeys> {
    const now = options.now ?? (() => new Date());
    const events = options.events ?? noKeyEvents;
    const wrapper = options.wrapper ?? envelopeDataKeyWrapper;
    const repository = new KeysRepository(store);
    const keystore = await Keystore.open(repository, options.sealSecret, now());
    const masterKeys = new MasterKeys(repository, keystore, {
      now,
      events,
      cacheIdleMs: options.cacheIdleMs,
    });
    const keys = new NodeKeys(
      keystore,
      masterKeys,
      new DataKeys(repository, masterKeys, wrapper, now),
      new KeyRotation(repository, masterKeys, wrapper, {
        now,
        events,
        batchSize: options.rotationBatchSize,
      }),
      new KeyDestruction(repository, masterKeys, events, now),
    );
    const sweepMs = options.sweepIntervalMs ?? 60_000;
    if (sweepMs > 0) {
      keys.sweeper = setInterval(() => masterKeys.evictIdle(), sweepMs);
      keys.sweeper.unref();
    }
    return keys;
  }

  /** Zeroes every unsealed key and the keystore key. Close before closing the NodeStore. */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.masterKeys.close();
    this.keystore.close();
  }
}
