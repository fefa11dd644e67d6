import { EnvelopeError } from './errors';
import { CHUNK_OVERHEAD, ENVELOPE_HEADER_LENGTH, checkChunkSize, chunkCountFor } from './format';

/**
 * Where to find a plaintext byte range in a stored object, for HTTP range downloads. Offsets
 * are absolute positions in the stored object, header included (the header occupies bytes
 * 0-11), so `ciphertextStart`/`ciphertextEndInclusive` go straight into a `Range` request to the
 * object store. The range covers whole chunk records only, never the header: the chunk size is
 * known from the object's metadata and is bound into every chunk's additional data anyway.
 */
export interface CiphertextRange {
  /** First byte to read from the stored object (start of chunk `firstChunkIndex`). */
  ciphertextStart: number;
  /** Last byte to read, inclusive (end of chunk `lastChunkIndex`'s tag). */
  ciphertextEndInclusive: number;
  firstChunkIndex: number;
  lastChunkIndex: number;
  /** Chunks in the whole object, which tells the decryptor which chunk is the final one. */
  totalChunks: number;
  /** Plaintext bytes of the first chunk to drop before the requested range starts. */
  skip: number;
  /** Plaintext bytes to emit: `plainEndInclusive - plainStart + 1`. */
  take: number;
}

/**
 * Maps the plaintext range `[plainStart, plainEndInclusive]` of an object of `plainSize` bytes
 * to the chunk records that hold it. Throws `range_invalid` for a range that is empty, reversed
 * or not inside the object (an empty object has no range: answer 416).
 */
export function ciphertextRangeFor(
  plainStart: number,
  plainEndInclusive: number,
  plainSize: number,
  chunkSize: number,
): CiphertextRange {
  checkChunkSize(chunkSize);
  for (const value of [plainStart, plainEndInclusive, plainSize]) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new EnvelopeError(
        'range_invalid',
        'Range bounds and size must be non-negative integers.',
      );
    }
  }
  if (plainStart > plainEndInclusive || plainEndInclusive >= plainSize) {
    throw new EnvelopeError('range_invalid', 'The range is empty or outside the object.');
  }
  const record = chunkSize + CHUNK_OVERHEAD;
  const firstChunkIndex = Math.floor(plainStart / chunkSize);
  const lastChunkIndex = Math.floor(plainEndInclusive / chunkSize);
  const totalChunks = chunkCountFor(plainSize, chunkSize);
  const lastChunkPlain = Math.min(chunkSize, plainSize - lastChunkIndex * chunkSize);
  const ciphertextStart = ENVELOPE_HEADER_LENGTH + firstChunkIndex * record;
  const ciphertextEndInclusive =
    ENVELOPE_HEADER_LENGTH + lastChunkIndex * record + lastChunkPlain + CHUNK_OVERHEAD - 1;
  return {
    ciphertextStart,
    ciphertextEndInclusive,
    firstChunkIndex,
    lastChunkIndex,
    totalChunks,
    skip: plainStart - firstChunkIndex * chunkSize,
    take: plainEndInclusive - plainStart + 1,
  };
}
