import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CHUNK_OVERHEAD,
  DEFAULT_CHUNK_SIZE,
  ENVELOPE_HEADER_LENGTH,
  EnvelopeError,
  type EnvelopeErrorCode,
  ciphertextRangeFor,
  ciphertextSizeFor,
  createDecryptStream,
  createEncryptStream,
  createRangeDecryptStream,
  generateDataKey,
  isEnvelopeError,
  plaintextSizeFor,
  rewrapDataKey,
  unwrapDataKey,
  wrapDataKey,
} from './index';

const CS = 64 * 1024;
const RECORD = CS + CHUNK_OVERHEAD;
const OBJECT_ID = 'ws-1/report.pdf/3';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Splits into pieces of uneven sizes so that every buffering path is exercised. */
function pieces(bytes: Buffer, size = 7777): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function collector(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  return { sink, bytes: () => Buffer.concat(parts) };
}

async function encrypt(
  plain: Buffer,
  options: { key: Buffer; objectId?: string; chunkSize?: number; pieceSize?: number },
) {
  const stream = createEncryptStream({
    dataKey: options.key,
    objectId: options.objectId ?? OBJECT_ID,
    ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
  });
  const out = collector();
  let summaryAtEnd: unknown;
  stream.on('end', () => (summaryAtEnd = stream.summary));
  await pipeline(Readable.from(pieces(plain, options.pieceSize)), stream, out.sink);
  return { ciphertext: out.bytes(), summary: await stream.result(), summaryAtEnd };
}

/** Runs a decryption to its end; returns what was emitted and the error, if any. */
async function decrypt(
  ciphertext: Buffer,
  options: { key: Buffer; objectId?: string; pieceSize?: number },
): Promise<{ output: Buffer; error: unknown }> {
  const stream = createDecryptStream({
    dataKey: options.key,
    objectId: options.objectId ?? OBJECT_ID,
  });
  const out = collector();
  try {
    await pipeline(Readable.from(pieces(ciphertext, options.pieceSize)), stream, out.sink);
    return { output: out.bytes(), error: undefined };
  } catch (error) {
    return { output: out.bytes(), error };
  }
}

function expectCode(error: unknown, ...codes: EnvelopeErrorCode[]): void {
  expect(error).toBeInstanceOf(EnvelopeError);
  expect(codes).toContain((error as EnvelopeError).code);
}

/** Byte offset of chunk record `index` in a stored object of chunk size CS. */
function recordAt(index: number): number {
  return ENVELOPE_HEADER_LENGTH + index * RECORD;
}

function flipBit(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy[offset] ^ 0x10;
  return copy;
}

/** A recognisable plaintext: a marker repeated, with the position woven in. */
function marked(size: number): Buffer {
  const text = Buffer.alloc(size);
  const marker = 'CAUSEWAY-PLAINTEXT-MARKER-';
  for (let i = 0; i < size; i += 32) text.write(`${marker}${i}`.padEnd(32, '.'), i, 'utf8');
  return text;
}

describe('envelope encryption', () => {
  const key = generateDataKey();

  describe('round trips', () => {
    it.each([
      ['empty', 0],
      ['one byte', 1],
      ['chunk - 1', CS - 1],
      ['exactly one chunk', CS],
      ['chunk + 1', CS + 1],
      ['several chunks and a bit', 3 * CS + 123],
      ['several whole chunks', 5 * CS],
    ])('%s (%i bytes, 64 KiB chunks)', async (_name, size) => {
      const plain = randomBytes(size);
      const { ciphertext, summary, summaryAtEnd } = await encrypt(plain, { key, chunkSize: CS });
      const chunks = size === 0 ? 1 : Math.ceil(size / CS);
      expect(summary).toEqual({
        plaintextSha256: sha256(plain),
        plaintextBytes: size,
        ciphertextBytes: ciphertext.length,
        chunks,
        chunkSize: CS,
      });
      expect(summaryAtEnd).toEqual(summary);
      expect(ciphertext.length).toBe(ciphertextSizeFor(size, CS));
      expect(ciphertext.length).toBe(ENVELOPE_HEADER_LENGTH + size + chunks * CHUNK_OVERHEAD);
      expect(plaintextSizeFor(ciphertext.length, CS)).toBe(size);

      const { output, error } = await decrypt(ciphertext, { key });
      expect(error).toBeUndefined();
      expect(output.equals(plain)).toBe(true);
      expect(sha256(output)).toBe(summary.plaintextSha256);
    });

    it('skips its own SHA-256 when asked, and the ciphertext still decrypts', async () => {
      const plain = randomBytes(2 * CS + 77);
      const stream = createEncryptStream({
        dataKey: key,
        objectId: OBJECT_ID,
        chunkSize: CS,
        sha256: false,
      });
      const out = collector();
      await pipeline(Readable.from(pieces(plain)), stream, out.sink);
      const summary = await stream.result();
      expect(summary).toMatchObject({ plaintextSha256: undefined, plaintextBytes: plain.length });
      const { output, error } = await decrypt(out.bytes(), { key });
      expect(error).toBeUndefined();
      expect(output.equals(plain)).toBe(true);
    });

    it('uses 1 MiB chunks by default and reads them back', async () => {
      const plain = randomBytes(2 * DEFAULT_CHUNK_SIZE + 4321);
      const { ciphertext, summary } = await encrypt(plain, { key, pieceSize: 300_000 });
      expect(summary.chunkSize).toBe(1024 * 1024);
      expect(summary.chunks).toBe(3);
      expect(ciphertext.readUInt32BE(8)).toBe(1024 * 1024);
      const stream = createDecryptStream({ dataKey: key, objectId: OBJECT_ID });
      const out = collector();
      await pipeline(Readable.from(pieces(ciphertext, 65_536)), stream, out.sink);
      expect(out.bytes().equals(plain)).toBe(true);
      expect(await stream.result()).toEqual({
        plaintextBytes: plain.length,
        ciphertextBytes: ciphertext.length,
        chunks: 3,
        chunkSize: DEFAULT_CHUNK_SIZE,
      });
    });

    it('gives the same result whether the input comes in one write, in small pieces or byte by byte', async () => {
      const plain = randomBytes(2 * CS + 5);
      const whole = await encrypt(plain, { key, chunkSize: CS, pieceSize: plain.length });
      const small = await encrypt(plain, { key, chunkSize: CS, pieceSize: 1000 });
      const bytes = await encrypt(plain, { key, chunkSize: CS, pieceSize: 1 });
      expect(whole.ciphertext.length).toBe(small.ciphertext.length);
      expect(bytes.ciphertext.length).toBe(small.ciphertext.length);
      for (const { ciphertext } of [whole, small, bytes]) {
        for (const pieceSize of [ciphertext.length, 999, 1]) {
          const { output, error } = await decrypt(ciphertext, { key, pieceSize });
          expect(error).toBeUndefined();
          expect(output.equals(plain)).toBe(true);
        }
      }
    });

    it('never writes the plaintext, and encrypts the same plaintext differently each time', async () => {
      const plain = marked(3 * CS);
      const first = await encrypt(plain, { key, chunkSize: CS });
      const second = await encrypt(plain, { key, chunkSize: CS });
      expect(plain.includes('CAUSEWAY-PLAINTEXT-MARKER-')).toBe(true);
      expect(first.ciphertext.includes('CAUSEWAY-PLAINTEXT-MARKER-')).toBe(false);
      expect(first.ciphertext.includes(plain.subarray(1000, 1016))).toBe(false);
      expect(first.ciphertext.subarray(0, ENVELOPE_HEADER_LENGTH)).toEqual(
        second.ciphertext.subarray(0, ENVELOPE_HEADER_LENGTH),
      );
      expect(
        first.ciphertext.subarray(ENVELOPE_HEADER_LENGTH).equals(second.ciphertext.subarray(12)),
      ).toBe(false);
      // Each chunk has its own IV.
      const ivs = [0, 1, 2].map((i) => first.ciphertext.subarray(recordAt(i), recordAt(i) + 12));
      expect(new Set(ivs.map((iv) => iv.toString('hex'))).size).toBe(3);
    });
  });

  describe('refuses altered objects and emits nothing unverified', () => {
    const plain = randomBytes(4 * CS + 1000); // chunks 0-3 full, chunk 4 final and short
    let ciphertext: Buffer;

    beforeAll(async () => {
      ({ ciphertext } = await encrypt(plain, { key, chunkSize: CS }));
    });

    it.each([
      ['first chunk, IV', 0, 3],
      ['first chunk, ciphertext', 0, 12 + 500],
      ['middle chunk, ciphertext', 2, 12 + CS - 1],
      ['middle chunk, tag', 2, RECORD - 1],
      ['last chunk, IV', 4, 0],
      ['last chunk, ciphertext', 4, 12 + 999],
      ['last chunk, tag', 4, 12 + 1000 + 15],
    ])('a flipped bit in the %s', async (_name, chunk, offset) => {
      const { output, error } = await decrypt(flipBit(ciphertext, recordAt(chunk) + offset), {
        key,
      });
      expectCode(error, 'chunk_invalid');
      // Exactly the chunks before the altered one came out, and they are right.
      expect(output.equals(plain.subarray(0, chunk * CS))).toBe(true);
    });

    it.each([
      ['magic', 0, 'header_invalid'],
      ['version', 4, 'unsupported_version'],
      ['reserved byte', 6, 'header_invalid'],
      ['chunk size (out of range)', 8, 'header_invalid'],
      ['chunk size (in range, but not the one in the AAD)', 10, 'chunk_invalid'],
    ] as const)('a flipped bit in the header: %s', async (_name, offset, code) => {
      const { output, error } = await decrypt(flipBit(ciphertext, offset), { key });
      expectCode(error, code);
      expect(output.length).toBe(0);
    });

    it('two chunks swapped', async () => {
      const swapped = Buffer.from(ciphertext);
      ciphertext.copy(swapped, recordAt(1), recordAt(2), recordAt(3));
      ciphertext.copy(swapped, recordAt(2), recordAt(1), recordAt(2));
      const { output, error } = await decrypt(swapped, { key });
      expectCode(error, 'chunk_invalid');
      expect(output.equals(plain.subarray(0, CS))).toBe(true);
    });

    it('the last chunk removed (cut at a chunk boundary)', async () => {
      const { output, error } = await decrypt(ciphertext.subarray(0, recordAt(4)), { key });
      expectCode(error, 'truncated');
      expect(output.equals(plain.subarray(0, 3 * CS))).toBe(true);
    });

    it('the last full chunk removed from an object of whole chunks', async () => {
      const whole = randomBytes(3 * CS);
      const encrypted = (await encrypt(whole, { key, chunkSize: CS })).ciphertext;
      expect(encrypted.length).toBe(recordAt(3));
      const { error } = await decrypt(encrypted.subarray(0, recordAt(2)), { key });
      expectCode(error, 'truncated');
    });

    it('everything but the header removed, and the header cut', async () => {
      expectCode((await decrypt(ciphertext.subarray(0, 12), { key })).error, 'truncated');
      expectCode((await decrypt(ciphertext.subarray(0, 7), { key })).error, 'header_invalid');
      expectCode((await decrypt(Buffer.alloc(0), { key })).error, 'header_invalid');
    });

    it('bytes cut in the middle of a chunk', async () => {
      for (const end of [recordAt(2) + 100, recordAt(4) + 500, ciphertext.length - 1]) {
        const { output, error } = await decrypt(ciphertext.subarray(0, end), { key });
        expectCode(error, 'chunk_invalid', 'truncated');
        expect(plain.subarray(0, output.length).equals(output)).toBe(true);
        expect(output.length % CS).toBe(0);
      }
      expectCode(
        (await decrypt(ciphertext.subarray(0, recordAt(4) + 20), { key })).error,
        'truncated',
      );
    });

    it('a chunk appended after the final one', async () => {
      const extra = ciphertext.subarray(recordAt(1), recordAt(2));
      const { output, error } = await decrypt(Buffer.concat([ciphertext, extra]), { key });
      expectCode(error, 'chunk_invalid', 'trailing_data');
      expect(output.length).toBeLessThan(plain.length);

      // With a full-size final chunk, the cause can be named exactly.
      const whole = randomBytes(2 * CS);
      const encrypted = (await encrypt(whole, { key, chunkSize: CS })).ciphertext;
      const appended = Buffer.concat([encrypted, encrypted.subarray(recordAt(0), recordAt(1))]);
      const result = await decrypt(appended, { key });
      expectCode(result.error, 'trailing_data');
      expect(result.output.equals(whole.subarray(0, CS))).toBe(true);
      expectCode(
        (await decrypt(Buffer.concat([encrypted, Buffer.of(0)]), { key })).error,
        'trailing_data',
      );
    });

    it('a chunk moved in from another object under the same key', async () => {
      const other = (
        await encrypt(randomBytes(4 * CS + 1000), { key, objectId: 'ws-1/other/1', chunkSize: CS })
      ).ciphertext;
      const mixed = Buffer.from(ciphertext);
      other.copy(mixed, recordAt(1), recordAt(1), recordAt(2));
      expectCode((await decrypt(mixed, { key })).error, 'chunk_invalid');
    });

    it('another object id or another key', async () => {
      for (const options of [{ key, objectId: 'ws-1/report.pdf/4' }, { key: generateDataKey() }]) {
        const { output, error } = await decrypt(ciphertext, options);
        expectCode(error, 'chunk_invalid');
        expect(output.length).toBe(0);
      }
    });

    it('reports the failure through result() as well', async () => {
      const stream = createDecryptStream({ dataKey: key, objectId: 'wrong' });
      await expect(
        pipeline(Readable.from([ciphertext]), stream, collector().sink),
      ).rejects.toBeInstanceOf(EnvelopeError);
      await expect(stream.result()).rejects.toMatchObject({ code: 'chunk_invalid' });
    });
  });

  describe('ranges', () => {
    const size = 5 * CS + 777;
    const plain = randomBytes(size);
    let ciphertext: Buffer;

    beforeAll(async () => {
      ({ ciphertext } = await encrypt(plain, { key, chunkSize: CS }));
    });

    async function readRange(start: number, end: number, ciphertextOverride?: Buffer) {
      const range = ciphertextRangeFor(start, end, size, CS);
      const source = (ciphertextOverride ?? ciphertext).subarray(
        range.ciphertextStart,
        range.ciphertextEndInclusive + 1,
      );
      const stream = createRangeDecryptStream({
        dataKey: key,
        objectId: OBJECT_ID,
        chunkSize: CS,
        firstChunkIndex: range.firstChunkIndex,
        totalChunks: range.totalChunks,
        skip: range.skip,
        take: range.take,
      });
      const out = collector();
      await pipeline(Readable.from(pieces(source, 5000)), stream, out.sink);
      return { range, output: out.bytes() };
    }

    it.each([
      ['the first byte', 0, 0],
      ['inside one chunk', 100, 5000],
      ['a whole middle chunk', 2 * CS, 3 * CS - 1],
      ['across two chunks', CS - 10, CS + 10],
      ['across several chunks', CS + 1, 4 * CS + 2],
      ['inside the final chunk', 5 * CS + 1, 5 * CS + 700],
      ['the last byte', size - 1, size - 1],
      ['the whole object', 0, size - 1],
    ])('%s', async (_name, start, end) => {
      const { range, output } = await readRange(start, end);
      expect(output.equals(plain.subarray(start, end + 1))).toBe(true);
      expect(range.take).toBe(end - start + 1);
      expect(range.ciphertextEndInclusive).toBeLessThan(ciphertext.length);
    });

    it('maps offsets to whole chunk records, header counted in', () => {
      expect(ciphertextRangeFor(CS + 5, 2 * CS + 5, size, CS)).toEqual({
        ciphertextStart: 12 + RECORD,
        ciphertextEndInclusive: 12 + 3 * RECORD - 1,
        firstChunkIndex: 1,
        lastChunkIndex: 2,
        totalChunks: 6,
        skip: 5,
        take: CS + 1,
      });
      expect(ciphertextRangeFor(0, size - 1, size, CS)).toMatchObject({
        ciphertextStart: 12,
        ciphertextEndInclusive: ciphertext.length - 1,
      });
    });

    it('refuses ranges outside the object', () => {
      for (const [start, end, total] of [
        [0, size, size],
        [10, 9, size],
        [-1, 5, size],
        [0, 0, 0],
        [0.5, 3, size],
      ] as const) {
        expect(() => ciphertextRangeFor(start, end, total, CS)).toThrow(
          expect.objectContaining({ code: 'range_invalid' }) as Error,
        );
      }
    });

    it('still verifies each chunk in a range', async () => {
      const altered = flipBit(ciphertext, recordAt(2) + 40);
      await expect(readRange(CS, 3 * CS, altered)).rejects.toMatchObject({
        code: 'chunk_invalid',
      });
      // The right bytes presented as another chunk index: refused.
      const range = ciphertextRangeFor(2 * CS, 2 * CS + 9, size, CS);
      const stream = createRangeDecryptStream({
        dataKey: key,
        objectId: OBJECT_ID,
        chunkSize: CS,
        firstChunkIndex: 3,
        totalChunks: range.totalChunks,
        skip: 0,
        take: 10,
      });
      await expect(
        pipeline(
          Readable.from([
            ciphertext.subarray(range.ciphertextStart, range.ciphertextEndInclusive + 1),
          ]),
          stream,
          collector().sink,
        ),
      ).rejects.toMatchObject({ code: 'chunk_invalid' });
    });

    it('refuses a range input that is cut or too long', async () => {
      const range = ciphertextRangeFor(10, CS + 10, size, CS);
      const make = () =>
        createRangeDecryptStream({ dataKey: key, objectId: OBJECT_ID, chunkSize: CS, ...range });
      const slice = ciphertext.subarray(range.ciphertextStart, range.ciphertextEndInclusive + 1);
      await expect(
        pipeline(Readable.from([slice.subarray(0, slice.length - 1)]), make(), collector().sink),
      ).rejects.toMatchObject({ code: 'truncated' });
      await expect(
        pipeline(Readable.from([slice, Buffer.of(1)]), make(), collector().sink),
      ).rejects.toMatchObject({ code: 'trailing_data' });
      // The final chunk presented as a non-final one (totalChunks wrong) is refused too.
      const last = ciphertextRangeFor(4 * CS + 1, 4 * CS + 1, size, CS);
      const wrongTotal = createRangeDecryptStream({
        dataKey: key,
        objectId: OBJECT_ID,
        chunkSize: CS,
        ...last,
        totalChunks: last.totalChunks - 1,
      });
      await expect(
        pipeline(
          Readable.from([
            ciphertext.subarray(last.ciphertextStart, last.ciphertextEndInclusive + 1),
          ]),
          wrongTotal,
          collector().sink,
        ),
      ).rejects.toMatchObject({ code: 'truncated' });
    });
  });

  describe('data keys', () => {
    const master = randomBytes(32);
    const context = { objectId: OBJECT_ID, masterKeyId: 'kms/master/7' };

    it('wraps and unwraps a data key, bound to its context', () => {
      const dataKey = generateDataKey();
      expect(dataKey.length).toBe(32);
      const wrapped = wrapDataKey(dataKey, master, context);
      expect(wrapped).toMatch(/^[A-Za-z0-9_-]{82}$/);
      expect(Buffer.from(wrapped, 'base64url')[0]).toBe(1);
      expect(wrapDataKey(dataKey, master, context)).not.toBe(wrapped);
      expect(unwrapDataKey(wrapped, master, context).equals(dataKey)).toBe(true);
    });

    it('refuses a wrong master key, a wrong context and altered or malformed values', () => {
      const wrapped = wrapDataKey(generateDataKey(), master, context);
      const bytes = Buffer.from(wrapped, 'base64url');
      const altered = (offset: number) => flipBit(bytes, offset).toString('base64url');
      const attempts: Array<() => unknown> = [
        () => unwrapDataKey(wrapped, randomBytes(32), context),
        () => unwrapDataKey(wrapped, master, { ...context, objectId: 'ws-1/report.pdf/4' }),
        () => unwrapDataKey(wrapped, master, { ...context, masterKeyId: 'kms/master/8' }),
        () => unwrapDataKey(altered(0), master, context),
        () => unwrapDataKey(altered(5), master, context),
        () => unwrapDataKey(altered(30), master, context),
        () => unwrapDataKey(altered(bytes.length - 1), master, context),
        () => unwrapDataKey(wrapped.slice(0, -2), master, context),
        () => unwrapDataKey(`${wrapped}AA`, master, context),
        () => unwrapDataKey(`${wrapped.slice(0, -1)}=`, master, context),
        () => unwrapDataKey('', master, context),
      ];
      for (const attempt of attempts) {
        expect(attempt).toThrow(expect.objectContaining({ code: 'wrapped_key_invalid' }) as Error);
      }
    });

    it('rewraps under a new master key for rotation', () => {
      const dataKey = generateDataKey();
      const wrapped = wrapDataKey(dataKey, master, context);
      const newMaster = randomBytes(32);
      const rotated = rewrapDataKey(wrapped, master, newMaster, {
        ...context,
        newMasterKeyId: 'kms/master/8',
      });
      const newContext = { objectId: OBJECT_ID, masterKeyId: 'kms/master/8' };
      expect(unwrapDataKey(rotated, newMaster, newContext).equals(dataKey)).toBe(true);
      expect(() => unwrapDataKey(rotated, master, newContext)).toThrow(EnvelopeError);
      expect(() => unwrapDataKey(rotated, newMaster, context)).toThrow(EnvelopeError);
      for (const [oldKey, objectId] of [
        [randomBytes(32), OBJECT_ID],
        [master, 'ws-1/other/1'],
      ] as const) {
        expect(() =>
          rewrapDataKey(wrapped, oldKey, newMaster, {
            objectId,
            masterKeyId: context.masterKeyId,
            newMasterKeyId: 'kms/master/8',
          }),
        ).toThrow(expect.objectContaining({ code: 'wrapped_key_invalid' }) as Error);
      }
    });
  });

  describe('arguments', () => {
    it.each([
      ['a short data key', { dataKey: randomBytes(16), objectId: OBJECT_ID }],
      ['an empty object id', { dataKey: randomBytes(32), objectId: '' }],
      ['an ill-formed object id', { dataKey: randomBytes(32), objectId: 'a\ud800b' }],
      ['a chunk size below 64 KiB', { dataKey: randomBytes(32), objectId: 'x', chunkSize: 1024 }],
      [
        'a chunk size above 16 MiB',
        { dataKey: randomBytes(32), objectId: 'x', chunkSize: 2 ** 25 },
      ],
    ])('refuses %s', (_name, options) => {
      expect(() => createEncryptStream(options)).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }) as Error,
      );
    });

    it('names its errors for narrowing', () => {
      expect(isEnvelopeError(new EnvelopeError('truncated', 'x'), 'truncated')).toBe(true);
      expect(isEnvelopeError(new EnvelopeError('truncated', 'x'), 'chunk_invalid')).toBe(false);
      expect(isEnvelopeError(new Error('x'))).toBe(false);
    });
  });

  it('encrypts and decrypts 256 MiB through a pipeline in constant memory', async () => {
    const total = 256 * 1024 * 1024;
    const block = randomBytes(256 * 1024);
    async function* source(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < total; offset += block.length) {
        const piece = Buffer.from(block);
        piece.writeUInt32BE(offset / block.length, 0); // no two blocks alike
        yield piece;
      }
    }
    const encryptor = createEncryptStream({ dataKey: key, objectId: OBJECT_ID });
    const decryptor = createDecryptStream({ dataKey: key, objectId: OBJECT_ID });
    const hash = createHash('sha256');
    let received = 0;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        received += chunk.length;
        peak = Math.max(peak, process.memoryUsage().rss);
        callback();
      },
    });
    await pipeline(Readable.from(source()), encryptor, decryptor, sink);
    const summary = await encryptor.result();
    expect(received).toBe(total);
    expect(summary.plaintextBytes).toBe(total);
    expect(hash.digest('hex')).toBe(summary.plaintextSha256);
    expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);
  });
});
