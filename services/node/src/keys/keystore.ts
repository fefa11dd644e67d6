import { randomBytes } from 'node:crypto';
import { isPkiError, sealSecret, unsealSecret, type SealingSecret } from '@causeway/crypto';
import { KeysError } from './keys.errors';
import type { KeysRepository } from './keys.repository';

const KEK_PURPOSE = 'causeway/node/keystore-kek';
const KEY_BYTES = 32;

/** What a sealed master key is bound to: its sealed form opens only for the same row. */
export interface MasterKeyBinding {
  id: string;
  workspaceId: string;
  tenantId: string;
  version: number;
}

/**
 * The node's keystore key (KEK): 32 random bytes sealed under the node seal secret and kept in
 * node.db. Master keys are sealed under the KEK rather than the seal secret itself, so that
 * scrypt runs once per start (not once per master key) and a change of seal secret re-seals
 * one value. Without the seal secret, node.db holds nothing that can be unwrapped.
 */
export class Keystore {
  private kek: Buffer | undefined;

  private constructor(
    private readonly repository: KeysRepository,
    kek: Buffer,
  ) {
    this.kek = kek;
  }

  /** Opens the keystore, creating its KEK on first use. A wrong secret is `keystore_locked`. */
  static async open(
    repository: KeysRepository,
    secret: SealingSecret,
    now: Date,
  ): Promise<Keystore> {
    const existing = repository.sealedKek();
    if (existing !== undefined) return new Keystore(repository, await openKek(existing, secret));
    const kek = randomBytes(KEY_BYTES);
    const sealed = await sealSecret(kek.toString('base64'), secret, KEK_PURPOSE);
    if (repository.insertSealedKek(sealed, now.toISOString())) return new Keystore(repository, kek);
    // Another process created it between our read and our insert: use theirs.
    kek.fill(0);
    return new Keystore(repository, await openKek(repository.sealedKek() ?? '', secret));
  }

  /** Seals a master key under the KEK, bound to its row. */
  sealMasterKey(key: Buffer, binding: MasterKeyBinding): Promise<string> {
    return sealSecret(key.toString('base64'), this.currentKek(), purposeOf(binding));
  }

  /** Opens a sealed master key; a sealed value moved to another row does not open. */
  async unsealMasterKey(sealed: string, binding: MasterKeyBinding): Promise<Buffer> {
    const text = await unsealSecret(sealed, this.currentKek(), purposeOf(binding));
    const key = Buffer.from(text, 'base64');
    if (key.length !== KEY_BYTES) {
      key.fill(0);
      throw new KeysError('data_key_invalid', 'A sealed master key has the wrong length.');
    }
    return key;
  }

  /**
   * Re-seals the KEK under a new seal secret (changing CAUSEWAY_NODE_SEAL_KEY, or moving from
   * the key file to a passphrase). Master keys are untouched.
   */
  async reseal(newSecret: SealingSecret, now: Date): Promise<void> {
    const sealed = await sealSecret(this.currentKek().toString('base64'), newSecret, KEK_PURPOSE);
    this.repository.replaceSealedKek(sealed, now.toISOString());
  }

  /** Drops the KEK from memory; every later call fails with `keys_closed`. */
  close(): void {
    this.kek?.fill(0);
    this.kek = undefined;
  }

  private currentKek(): Buffer {
    if (this.kek === undefined) throw new KeysError('keys_closed', 'The keystore is closed.');
    return this.kek;
  }
}

async function openKek(sealed: string, secret: SealingSecret): Promise<Buffer> {
  try {
    const kek = Buffer.from(await unsealSecret(sealed, secret, KEK_PURPOSE), 'base64');
    if (kek.length !== KEY_BYTES) throw new Error('keystore key has the wrong length');
    return kek;
  } catch (cause) {
    if (isPkiError(cause) && cause.code === 'invalid_argument') throw cause;
    throw new KeysError(
      'keystore_locked',
      "The node seal secret does not open this node's keystore: check CAUSEWAY_NODE_SEAL_KEY or master-seal.key in the state directory.",
      { cause },
    );
  }
}

function purposeOf(binding: MasterKeyBinding): string {
  return `causeway/node/master-key|${binding.id}|${binding.tenantId}|${binding.workspaceId}|${binding.version}`;
}
