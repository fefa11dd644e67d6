import { createHash, randomBytes } from 'node:crypto';
import { ChunkReader, type ReadChunk } from './chunker';

async function* from(pieces: Buffer[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) yield piece;
}

async function readAll(reader: ChunkReader): Promise<ReadChunk[]> {
  const chunks: ReadChunk[] = [];
  for (let chunk = await reader.next(); chunk; chunk = await reader.next()) chunks.push(chunk);
  return chunks;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('ChunkReader', () => {
  it('cuts pieces of any size into whole chunks and hashes them in order', async () => {
    const pieces = [1, 999, 1024, 5000, 3, 0, 2048, 77].map((n) => randomBytes(n));
    const all = Buffer.concat(pieces);
    const chunks = await readAll(new ChunkReader(from(pieces), 1024));

    const lengths = Array.from({ length: Math.ceil(all.length / 1024) }, (_, i) =>
      Math.min(1024, all.length - i * 1024),
    );
    expect(chunks.map((c) => c.bytes.length)).toEqual(lengths);
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    expect(Buffer.concat(chunks.map((c) => c.bytes)).equals(all)).toBe(true);
    expect(chunks.filter((c) => c.final)).toHaveLength(1);
    expect(chunks.at(-1)).toMatchObject({ final: true, sha256: sha256(all), size: all.length });
  });

  it('marks a full last chunk as final, without an empty chunk after it', async () => {
    const all = randomBytes(3 * 1024);
    const chunks = await readAll(new ChunkReader(from([all]), 1024));
    expect(chunks.map((c) => [c.bytes.length, c.final])).toEqual([
      [1024, false],
      [1024, false],
      [1024, true],
    ]);
    expect(chunks[2]?.sha256).toBe(sha256(all));
  });

  it('sends an empty source as one empty final chunk', async () => {
    const chunks = await readAll(new ChunkReader(from([]), 1024));
    expect(chunks).toEqual([
      { index: 0, bytes: Buffer.alloc(0), final: true, sha256: sha256(Buffer.alloc(0)), size: 0 },
    ]);
  });

  it('hands out pieces that match the chunk size, and views of large ones, without copying', async () => {
    const exact = randomBytes(1024);
    const large = randomBytes(2048);
    const chunks = await readAll(new ChunkReader(from([exact, large]), 1024));
    expect(chunks[0]?.bytes).toBe(exact);
    expect(chunks[1]?.bytes.buffer).toBe(large.buffer);
    expect(chunks[2]?.bytes.buffer).toBe(large.buffer);
  });

  it('holds at most one chunk read ahead', async () => {
    const reader = new ChunkReader(from([randomBytes(10 * 1024)]), 1024);
    let most = 0;
    for (let chunk = await reader.next(); chunk; chunk = await reader.next()) {
      most = Math.max(most, reader.lookahead);
    }
    expect(most).toBe(1);
  });

  it('refuses a source that yields strings', async () => {
    // As a Readable with an encoding set does, whatever its declared type.
    async function* text(): AsyncGenerator<unknown> {
      yield 'text';
    }
    const reader = new ChunkReader(text() as AsyncIterable<Uint8Array>, 1024);
    await expect(reader.next()).rejects.toThrow(/bytes/);
  });
});
