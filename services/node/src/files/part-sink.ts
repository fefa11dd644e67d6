import { once } from 'node:events';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type {
  SinkChunk,
  SinkResume,
  StreamError,
  StreamResult,
  StreamSink,
} from '@causeway/bridge';
import {
  createEncryptStream,
  type EncryptSummary,
  type EnvelopeEncryptStream,
} from '@causeway/crypto';

export interface PartSinkOptions {
  /** The part object's own data key; the sink zeroes it when done. */
  dataKey: Buffer;
  objectId: string;
  /** The part may not carry more than this (what the upload still lacks). */
  maxSize: number;
  /**
   * Stores the part's ciphertext as it is encrypted: the object store's `put` of the object,
   * without a size (it is known only at the end). Atomic, so the object appears only once the
   * stream ended; resolves with the bytes stored.
   */
  store(ciphertext: Readable): Promise<{ size: number }>;
  /**
   * The upload's running whole-file SHA-256 over the bytes before this part, if the node has it:
   * a copy of its own, advanced with this part's bytes and handed to `commit`, so that the
   * upload adopts it only with a committed part.
   */
  fileHash?: Hash;
  /** Commits the stored part; called once, after the stream verified and the object is stored. */
  commit(result: StreamResult, summary: EncryptSummary, fileHash: Hash | undefined): Promise<void>;
  /** Called once when the part will not be committed: drops its data key and its object. */
  discard(): Promise<void>;
}

/**
 * Receives one upload part from a bridge stream and encrypts it as it arrives, straight into the
 * object store: plaintext only ever lives in memory (one chunk), the store gets envelope
 * ciphertext. A part is not resumable within its stream (`open` always reports 0 bytes): an
 * interrupted part is dropped (its object, if the store had finished it, deleted) and sent again
 * from the upload's committed offset under a new stream id, at the same part index.
 *
 * The plaintext is hashed twice, as it must be: by the bridge receiver (the stream's SHA-256,
 * checked against the sender's) and into the upload's whole-file SHA-256. The encryptor does not
 * hash it a third time.
 */
export class PartSink implements StreamSink {
  private encrypt: EnvelopeEncryptStream | undefined;
  private stored: Promise<{ size: number }> | undefined;
  private received = 0;
  private done: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PartSinkOptions) {}

  open(): Promise<SinkResume> {
    if (this.encrypt) throw new Error('a part sink opens once');
    const encrypt = createEncryptStream({
      dataKey: this.options.dataKey,
      objectId: this.options.objectId,
      sha256: false,
    });
    this.encrypt = encrypt;
    try {
      this.stored = this.options.store(encrypt);
    } catch (error) {
      this.stored = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // Observed here so a failure before `finish` is never an unhandled rejection.
    this.stored.catch(() => undefined);
    return Promise.resolve({ size: 0 });
  }

  async write(chunk: SinkChunk): Promise<void> {
    const encrypt = this.encrypt;
    if (!encrypt || this.closed) throw new Error('the part sink is not open');
    if (chunk.offset !== this.received) {
      throw new Error(`part chunk at ${chunk.offset}, expected ${this.received}`);
    }
    if (this.received + chunk.bytes.length > this.options.maxSize) {
      throw new Error(`the part is larger than the ${this.options.maxSize} bytes still expected`);
    }
    this.received += chunk.bytes.length;
    this.options.fileHash?.update(chunk.bytes);
    if (!encrypt.write(chunk.bytes)) {
      await Promise.race([once(encrypt, 'drain'), this.stored]);
    }
  }

  finish(result: StreamResult): Promise<void> {
    this.done ??= this.complete(result);
    return this.done;
  }

  async abort(_error: StreamError): Promise<void> {
    await this.drop();
  }

  /** Drops the stored bytes and the data key, unless the part was committed. Idempotent. */
  async drop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A store still writing sees its source fail and leaves nothing; one that had finished
    // leaves the object, which `discard` deletes.
    this.encrypt?.destroy();
    await this.stored?.catch(() => undefined);
    this.options.dataKey.fill(0);
    await this.options.discard();
  }

  private async complete(result: StreamResult): Promise<void> {
    const encrypt = this.encrypt;
    const stored = this.stored;
    if (!encrypt || !stored || this.closed) throw new Error('the part sink is not open');
    try {
      encrypt.end();
      const { size } = await stored;
      const summary = await encrypt.result();
      if (summary.plaintextBytes !== result.size || summary.plaintextBytes !== this.received) {
        throw new Error('the encrypted part does not match the stream it came from');
      }
      if (size !== summary.ciphertextBytes) {
        throw new Error('the stored part has an unexpected size');
      }
      await this.options.commit(result, summary, this.options.fileHash);
      this.closed = true;
      this.options.dataKey.fill(0);
    } catch (error) {
      await this.drop();
      throw error;
    }
  }
}
