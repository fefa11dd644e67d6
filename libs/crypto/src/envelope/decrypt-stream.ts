import { Transform, type TransformCallback } from 'node:stream';
import { EnvelopeError } from './errors';
import {
  type AesKey,
  CHUNK_OVERHEAD,
  ChunkAad,
  type ChunkContext,
  ENVELOPE_HEADER_LENGTH,
  MAX_CHUNKS,
  checkChunkSize,
  decodeHeader,
  idBytes,
  openChunk,
  toKeyObject,
} from './format';
import { ByteQueue, Outcome } from './outcome';

export interface DecryptStreamOptions {
  /** The object's data key (`unwrapDataKey(...)`); copied, so it may be wiped after. */
  dataKey: AesKey;
  /** The id the object was encrypted under. */
  objectId: string;
}

/** What a decrypt stream reports once it has verified the final chunk. */
export interface DecryptSummary {
  plaintextBytes: number;
  ciphertextBytes: number;
  chunks: number;
  chunkSize: number;
}

/**
 * Envelope format in, plaintext out. Every chunk is authenticated before a byte of it is pushed;
 * a failure destroys the stream with an `EnvelopeError` and nothing of that chunk or after it is
 * emitted. Whether a chunk is the final one follows from the framing: a full-size chunk record is
 * decrypted as non-final only once at least one byte after it has arrived, so it holds at most
 * one chunk record plus one incoming buffer.
 */
export class EnvelopeDecryptStream extends Transform {
  /** Set once the final chunk is verified, before its plaintext is pushed. */
  summary: DecryptSummary | undefined;

  private readonly objectId: Buffer;
  private readonly key: ChunkContext['key'];
  private readonly queue = new ByteQueue();
  private readonly outcome = new Outcome<DecryptSummary>();
  private context: ChunkContext | undefined;
  private chunkSize = 0;
  private record = 0;
  private index = 0;
  private plaintextBytes = 0;
  private ciphertextBytes = 0;

  constructor(options: DecryptStreamOptions) {
    const objectId = idBytes(options.objectId, 'object id');
    const key = toKeyObject(options.dataKey, 'data key');
    super();
    this.objectId = objectId;
    this.key = key;
  }

  /** Resolves after the final chunk is verified; rejects with the stream's error. */
  result(): Promise<DecryptSummary> {
    return this.outcome.promise;
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.ciphertextBytes += data.length;
      this.queue.push(data);
      if (this.context === undefined) {
        if (this.queue.length < ENVELOPE_HEADER_LENGTH) return callback();
        this.chunkSize = decodeHeader(this.queue.take(ENVELOPE_HEADER_LENGTH));
        this.record = this.chunkSize + CHUNK_OVERHEAD;
        this.context = { key: this.key, aad: new ChunkAad(this.objectId, this.chunkSize) };
      }
      // More than one record held: the first one is certainly not the final chunk.
      while (this.queue.length > this.record) {
        this.pushChunk(this.openOrFail(this.context, this.queue.take(this.record), false));
      }
      callback();
    } catch (error) {
      callback(this.fail(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.context === undefined) {
        throw new EnvelopeError(
          'header_invalid',
          this.queue.length === 0
            ? 'The object is empty.'
            : 'The object is shorter than its header.',
        );
      }
      if (this.queue.length === 0) {
        throw new EnvelopeError('truncated', 'The object ends without its final chunk.');
      }
      const plaintext = this.openOrFail(this.context, this.queue.takeAll(), true);
      this.summary = {
        plaintextBytes: this.plaintextBytes + plaintext.length,
        ciphertextBytes: this.ciphertextBytes,
        chunks: this.index + 1,
        chunkSize: this.chunkSize,
      };
      this.outcome.resolve(this.summary);
      this.pushChunk(plaintext);
      callback();
    } catch (error) {
      callback(this.fail(error));
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.outcome.reject(error);
    else if (this.summary === undefined) {
      this.outcome.reject(new EnvelopeError('truncated', 'The stream was closed before its end.'));
    }
    callback(error);
  }

  private pushChunk(plaintext: Buffer): void {
    this.index += 1;
    this.plaintextBytes += plaintext.length;
    if (plaintext.length > 0) this.push(plaintext);
  }

  private openOrFail(context: ChunkContext, record: Buffer, final: boolean): Buffer {
    return openVerified(context, record, this.index, final, this.chunkSize);
  }

  private fail(error: unknown): EnvelopeError {
    const failure = asEnvelopeError(error);
    this.outcome.reject(failure);
    return failure;
  }
}

export interface RangeDecryptStreamOptions {
  dataKey: AesKey;
  objectId: string;
  /** The object's chunk size (from its metadata or header); bound into every chunk's AAD. */
  chunkSize: number;
  /** From `ciphertextRangeFor`: index of the first chunk in the input. */
  firstChunkIndex: number;
  /** From `ciphertextRangeFor`: chunks in the whole object (says which one is final). */
  totalChunks: number;
  /** Plaintext bytes of the first chunk to drop. */
  skip: number;
  /** Plaintext bytes to emit. */
  take: number;
}

/**
 * Decrypts the chunk records `ciphertextRangeFor` named (no header) and emits exactly `take`
 * plaintext bytes after dropping `skip`. Every chunk is still verified under its real index and
 * final flag, so a record from another position or object is refused. The input must be exactly
 * that ciphertext range: missing bytes are `truncated`, extra bytes `trailing_data`.
 */
export class EnvelopeRangeDecryptStream extends Transform {
  private readonly context: ChunkContext;
  private readonly chunkSize: number;
  private readonly record: number;
  private readonly lastIndex: number;
  private readonly finalIndex: number;
  private readonly queue = new ByteQueue();
  private index: number;
  private skip: number;
  private remaining: number;

  constructor(options: RangeDecryptStreamOptions) {
    const chunkSize = checkChunkSize(options.chunkSize);
    const { firstChunkIndex, totalChunks, skip, take } = options;
    const integer = (value: unknown, min: number, max: number): boolean =>
      typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
    if (
      !integer(totalChunks, 1, MAX_CHUNKS) ||
      !integer(firstChunkIndex, 0, totalChunks - 1) ||
      !integer(skip, 0, chunkSize - 1) ||
      !integer(take, 1, (totalChunks - firstChunkIndex) * chunkSize - skip)
    ) {
      throw new EnvelopeError('range_invalid', 'The range does not fit the object.');
    }
    const context: ChunkContext = {
      key: toKeyObject(options.dataKey, 'data key'),
      aad: new ChunkAad(idBytes(options.objectId, 'object id'), chunkSize),
    };
    super();
    this.context = context;
    this.chunkSize = chunkSize;
    this.record = chunkSize + CHUNK_OVERHEAD;
    this.index = firstChunkIndex;
    this.lastIndex = firstChunkIndex + Math.ceil((skip + take) / chunkSize) - 1;
    this.finalIndex = totalChunks - 1;
    this.skip = skip;
    this.remaining = take;
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.index > this.lastIndex) throw trailing();
      this.queue.push(data);
      // The object's final chunk may be shorter: it is taken whole at the end of the input.
      while (this.index <= this.lastIndex && this.index < this.finalIndex) {
        if (this.queue.length < this.record) break;
        this.openAndPush(this.queue.take(this.record), false);
      }
      if (this.index > this.lastIndex && this.queue.length > 0) throw trailing();
      if (this.index === this.finalIndex && this.queue.length > this.record) throw trailing();
      callback();
    } catch (error) {
      callback(asEnvelopeError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.index <= this.lastIndex) {
        // Only the object's final chunk can be left, and it is what remains of the input.
        if (this.index !== this.finalIndex || this.queue.length === 0) {
          throw new EnvelopeError('truncated', 'The range ends before the chunks it needs.');
        }
        if (this.queue.length > this.record) throw trailing();
        this.openAndPush(this.queue.takeAll(), true);
      }
      if (this.remaining > 0) {
        throw new EnvelopeError('truncated', 'The object is shorter than the range.');
      }
      callback();
    } catch (error) {
      callback(asEnvelopeError(error));
    }
  }

  private openAndPush(record: Buffer, final: boolean): void {
    const plaintext = openVerified(this.context, record, this.index, final, this.chunkSize);
    this.index += 1;
    const start = Math.min(this.skip, plaintext.length);
    const end = Math.min(plaintext.length, start + this.remaining);
    this.skip = 0;
    this.remaining -= end - start;
    if (end > start) this.push(plaintext.subarray(start, end));
  }
}

/** Starts decrypting one whole object; see `EnvelopeDecryptStream`. */
export function createDecryptStream(options: DecryptStreamOptions): EnvelopeDecryptStream {
  return new EnvelopeDecryptStream(options);
}

/** Starts decrypting a range of one object; see `EnvelopeRangeDecryptStream`. */
export function createRangeDecryptStream(
  options: RangeDecryptStreamOptions,
): EnvelopeRangeDecryptStream {
  return new EnvelopeRangeDecryptStream(options);
}

/**
 * Opens chunk `index` or throws. On failure it tries the opposite final flag, only to name the
 * cause: a full chunk that opens as non-final where the final one was expected means the object
 * was cut after it (`truncated`); a chunk that opens as final where more data follows means data
 * was appended (`trailing_data`). Nothing from those trial decryptions is ever emitted.
 */
function openVerified(
  context: ChunkContext,
  record: Buffer,
  index: number,
  final: boolean,
  chunkSize: number,
): Buffer {
  if (final && record.length < CHUNK_OVERHEAD) {
    throw new EnvelopeError('truncated', `Chunk ${index} is cut short.`);
  }
  const plaintext = openChunk(context, record, index, final);
  if (plaintext === undefined) {
    if (openChunk(context, record, index, !final) !== undefined) {
      throw final
        ? new EnvelopeError(
            'truncated',
            `The object ends after chunk ${index}, which is not final.`,
          )
        : new EnvelopeError('trailing_data', `Data follows the final chunk ${index}.`);
    }
    throw new EnvelopeError(
      'chunk_invalid',
      `Chunk ${index} does not authenticate: altered, moved, cut, or the wrong key or object id.`,
    );
  }
  // The encryptor never writes these; they would need the key, but keep the framing strict.
  if (!final && plaintext.length !== chunkSize) {
    throw new EnvelopeError('chunk_invalid', `Chunk ${index} has the wrong size.`);
  }
  if (final && plaintext.length === 0 && index !== 0) {
    throw new EnvelopeError('chunk_invalid', `The final chunk ${index} is empty.`);
  }
  return plaintext;
}

function trailing(): EnvelopeError {
  return new EnvelopeError('trailing_data', 'Bytes follow the end of the range.');
}

function asEnvelopeError(error: unknown): EnvelopeError {
  return error instanceof EnvelopeError
    ? error
    : new EnvelopeError('chunk_invalid', 'Decryption failed.', { cause: error });
}
