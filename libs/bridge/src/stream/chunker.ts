import { createHash } from 'node:crypto';

/** A chunk as read from a source, with the stream's SHA-256 and size on the last one. */
export interface ReadChunk {
  index: number;
  bytes: Buffer;
  final: boolean;
  /** On the final chunk only: hex SHA-256 and byte count of everything read. */
  sha256?: string;
  size?: number;
}

/**
 * Cuts a byte source into chunks of exactly `chunkSize` bytes (the last one shorter, or empty
 * for an empty source) and hashes every byte in order.
 *
 * It reads one chunk ahead, because a chunk is final only if the source ends after it, and the
 * receiver must know that from the chunk itself. So it holds at most two chunks: the one it
 * returns and the one after. Pieces the source yields are kept as they are when they line up
 * with chunk boundaries (no copy); the source must not reuse a buffer after yielding it.
 */
export class ChunkReader {
  private readonly iterator: AsyncIterator<unknown>;
  private readonly hash = createHash('sha256');
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  private ahead: Buffer | undefined;
  private exhausted = false;
  private finished = false;
  private index = 0;
  private size = 0;

  constructor(
    source: AsyncIterable<Uint8Array>,
    readonly chunkSize: number,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Chunks read from the source but not returned yet (0 or 1). */
  get lookahead(): number {
    return this.ahead === undefined ? 0 : 1;
  }

  /** The next chunk, or undefined after the final one. */
  async next(): Promise<ReadChunk | undefined> {
    if (this.finished) return undefined;
    const bytes = this.ahead ?? (await this.fill());
    this.ahead = undefined;
    let final = bytes.length < this.chunkSize;
    if (!final) {
      const following = await this.fill();
      if (following.length === 0) final = true;
      else this.ahead = following;
    }
    this.hash.update(bytes);
    this.size += bytes.length;
    const chunk: ReadChunk = { index: this.index++, bytes, final };
    if (final) {
      this.finished = true;
      chunk.sha256 = this.hash.digest('hex');
      chunk.size = this.size;
    }
    return chunk;
  }

  /** Lets the source release what it holds (a file handle, say). */
  async close(): Promise<void> {
    this.pieces = [];
    this.ahead = undefined;
    if (!this.exhausted) {
      this.exhausted = true;
      await this.iterator.return?.();
    }
  }

  /** Up to `chunkSize` bytes: fewer only at the end of the source, none after it. */
  private async fill(): Promise<Buffer> {
    while (this.pieceBytes < this.chunkSize && !this.exhausted) {
      const result = await this.iterator.next();
      if (result.done) {
        this.exhausted = true;
        break;
      }
      const piece = toBuffer(result.value);
      if (piece.length === 0) continue;
      this.pieces.push(piece);
      this.pieceBytes += piece.length;
    }
    return this.take();
  }

  private take(): Buffer {
    const first = this.pieces[0];
    if (first === undefined) return Buffer.alloc(0);
    if (this.pieceBytes <= this.chunkSize) {
      const out = this.pieces.length === 1 ? first : Buffer.concat(this.pieces, this.pieceBytes);
      this.pieces = [];
      this.pieceBytes = 0;
      return out;
    }
    this.pieceBytes -= this.chunkSize;
    if (first.length >= this.chunkSize) {
      // A large piece: hand out views of it rather than copies.
      this.pieces[0] = first.subarray(this.chunkSize);
      if (this.pieces[0].length === 0) this.pieces.shift();
      return first.subarray(0, this.chunkSize);
    }
    const out = Buffer.allocUnsafe(this.chunkSize);
    let filled = 0;
    while (filled < this.chunkSize) {
      const piece = this.pieces[0];
      const n = Math.min(piece.length, this.chunkSize - filled);
      piece.copy(out, filled, 0, n);
      filled += n;
      if (n === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(n);
    }
    return out;
  }
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  // A Readable with an encoding set yields strings: the bytes would not be the file's.
  throw new TypeError('a stream source must yield bytes (Buffer or Uint8Array), not strings');
}
