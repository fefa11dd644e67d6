import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { EnvelopeError } from './errors';
import {
  type AesKey,
  ChunkAad,
  type ChunkContext,
  DEFAULT_CHUNK_SIZE,
  checkChunkSize,
  encodeHeader,
  idBytes,
  sealChunk,
  toKeyObject,
} from './format';
import { Outcome } from './outcome';

export interface EncryptStreamOptions {
  /** The object's own 256-bit data key (`generateDataKey()`); copied, so it may be wiped after. */
  dataKey: AesKey;
  /** Names the object, e.g. `<workspace>/<file>/<version>`; needed again to decrypt. */
  objectId: string;
  /** Plaintext bytes per chunk, 64 KiB to 16 MiB; 1 MiB by default. Stored in the header. */
  chunkSize?: number;
  /**
   * Whether to compute the plaintext's SHA-256 (default true). A caller that already hashes
   * every byte it writes (a verified bridge stream, say) turns it off rather than pay twice.
   */
  sha256?: boolean;
}

/** What an encrypt stream reports once it has written its final chunk. */
export interface EncryptSummary {
  /**
   * SHA-256 of the plaintext, hex: compare with what the sender announced, store as metadata.
   * Undefined when the stream was created with `sha256: false`.
   */
  plaintextSha256: string | undefined;
  plaintextBytes: number;
  /** Bytes written out, header included: the size of the stored object. */
  ciphertextBytes: number;
  chunks: number;
  chunkSize: number;
}

/**
 * Plaintext in, envelope format out (FORMAT.md). Holds at most one chunk of plaintext: a full
 * chunk is encrypted as soon as one more byte arrives (so it is known not to be the final one),
 * and the rest at the end as the final chunk.
 */
export class EnvelopeEncryptStream extends Transform {
  /** Set just before the stream's last bytes are pushed, so it is there on 'end'. */
  summary: EncryptSummary | undefined;

  private readonly context: ChunkContext;
  private readonly chunkSize: number;
  private readonly pending: Buffer;
  private readonly hash: Hash | undefined;
  private readonly outcome = new Outcome<EncryptSummary>();
  private filled = 0;
  private index = 0;
  private plaintextBytes = 0;
  private ciphertextBytes = 0;
  private headerSent = false;

  constructor(options: EncryptStreamOptions) {
    const chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    super();
    this.chunkSize = chunkSize;
    this.context = {
      key: toKeyObject(options.dataKey, 'data key'),
      aad: new ChunkAad(idBytes(options.objectId, 'object id'), chunkSize),
    };
    this.pending = Buffer.alloc(chunkSize);
    this.hash = options.sha256 === false ? undefined : createHash('sha256');
  }

  /** Resolves with the summary after the final chunk; rejects if the stream fails. */
  result(): Promise<EncryptSummary> {
    return this.outcome.promise;
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.hash?.update(data);
      this.plaintextBytes += data.length;
      let offset = 0;
      while (offset < data.length) {
        if (this.filled === this.chunkSize) {
          this.seal(this.pending, false);
          this.filled = 0;
        }
        if (this.filled === 0 && data.length - offset > this.chunkSize) {
          // A whole chunk with more bytes after it: encrypt it in place, no copy.
          this.seal(data.subarray(offset, offset + this.chunkSize), false);
          offset += this.chunkSize;
          continue;
        }
        const count = Math.min(this.chunkSize - this.filled, data.length - offset);
        data.copy(this.pending, this.filled, offset, offset + count);
        this.filled += count;
        offset += count;
      }
      callback();
    } catch (error) {
      callback(this.fail(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      const parts = this.encryptChunk(this.pending.subarray(0, this.filled), true);
      this.pending.fill(0);
      this.summary = {
        plaintextSha256: this.hash?.digest('hex'),
        plaintextBytes: this.plaintextBytes,
        ciphertextBytes: this.ciphertextBytes,
        chunks: this.index,
        chunkSize: this.chunkSize,
      };
      this.outcome.resolve(this.summary);
      for (const part of parts) this.push(part);
      callback();
    } catch (error) {
      callback(this.fail(error));
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pending.fill(0);
    if (error) this.outcome.reject(error);
    else if (this.summary === undefined) {
      this.outcome.reject(new EnvelopeError('truncated', 'The stream was closed before its end.'));
    }
    callback(error);
  }

  private seal(plaintext: Buffer, final: boolean): void {
    for (const part of this.encryptChunk(plaintext, final)) this.push(part);
  }

  private encryptChunk(plaintext: Buffer, final: boolean): Buffer[] {
    const parts = sealChunk(this.context, plaintext, this.index, final);
    if (!this.headerSent) {
      parts.unshift(encodeHeader(this.chunkSize));
      this.headerSent = true;
    }
    this.index += 1;
    for (const part of parts) this.ciphertextBytes += part.length;
    return parts;
  }

  private fail(error: unknown): Error {
    const failure =
      error instanceof EnvelopeError
        ? error
        : new EnvelopeError('invalid_argument', 'Encryption failed.', { cause: error });
    this.outcome.reject(failure);
    return failure;
  }
}

/** Starts encrypting one object; see `EnvelopeEncryptStream`. */
export function createEncryptStream(options: EncryptStreamOptions): EnvelopeEncryptStream {
  return new EnvelopeEncryptStream(options);
}
