import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { canonicalJson, type ChainedEntry } from './hash-chain';

/**
 * A sealed segment: the entries of one chain since the previous seal, as gzip'd JSONL (one
 * `ChainedEntry` per line, in sequence order), and a manifest that pins them down (range, first
 * previous hash, last hash, SHA-256 of the compressed bytes) signed with Ed25519. Consecutive
 * manifests link up: a segment's `firstPrevHash` is the previous one's `lastHash`.
 * See docs/design/audit-chain.md.
 */
export interface SegmentManifest {
  version: 1;
  /** Which chain: a tenant id, `platform`, or `node`. */
  chain: string;
  firstSeq: number;
  lastSeq: number;
  firstPrevHash: string;
  lastHash: string;
  count: number;
  /** SHA-256 (hex) of the gzip'd JSONL bytes as archived. */
  segmentSha256: string;
  /** Time of the first and last entry (ISO 8601). */
  firstAt: string;
  lastAt: string;
  sealedAt: string;
  /** Id of the Ed25519 key that signed the manifest. */
  keyId: string;
}

/** The manifest as archived: its canonical JSON and the signature over exactly those bytes. */
export interface SignedManifest {
  manifest: string;
  /** Ed25519 signature, base64. */
  signature: string;
}

export interface SealedSegment {
  manifest: SegmentManifest;
  signed: SignedManifest;
  /** The gzip'd JSONL bytes. */
  data: Buffer;
}

export interface SegmentSigner {
  keyId: string;
  privateKey: KeyObject;
}

/** Seals a non-empty run of consecutive entries. `at` reads an entry's time. */
export function sealSegment(
  chain: string,
  entries: readonly ChainedEntry[],
  options: { signer: SegmentSigner; sealedAt: Date; at: (entry: ChainedEntry) => string },
): SealedSegment {
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (!first || !last) throw new Error('a segment needs at least one entry');
  const data = encodeSegment(entries);
  const manifest: SegmentManifest = {
    version: 1,
    chain,
    firstSeq: first.seq,
    lastSeq: last.seq,
    firstPrevHash: first.prevHash,
    lastHash: last.hash,
    count: entries.length,
    segmentSha256: sha256Hex(data),
    firstAt: options.at(first),
    lastAt: options.at(last),
    sealedAt: options.sealedAt.toISOString(),
    keyId: options.signer.keyId,
  };
  const text = canonicalJson(manifest);
  const signature = sign(null, Buffer.from(text, 'utf8'), options.signer.privateKey);
  return { manifest, signed: { manifest: text, signature: signature.toString('base64') }, data };
}

export function encodeSegment(entries: readonly ChainedEntry[]): Buffer {
  const lines = entries.map((e) =>
    JSON.stringify({ seq: e.seq, prevHash: e.prevHash, hash: e.hash, body: e.body }),
  );
  return gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8'));
}

/** Lines parsed per `JSON.parse`: much faster than a parse per line, and bounded in size. */
const DECODE_BATCH = 4096;
/**
 * Smaller batches when streaming: a batch that is checked and dropped before the next minor
 * garbage collection never reaches the old generation, which keeps the verifier's memory low.
 */
const STREAM_BATCH = 128;

/** The entries of a segment; throws when the bytes are not gzip'd JSONL of entries. */
export function decodeSegment(data: Buffer): ChainedEntry[] {
  const lines = new SegmentLines(DECODE_BATCH);
  const entries: ChainedEntry[] = [];
  for (const batch of lines.push(gunzipSync(data).toString('utf8'))) entries.push(...batch);
  for (const batch of lines.end()) entries.push(...batch);
  return entries;
}

/**
 * The entries of a segment in batches of at most a few thousand, decoded from a gunzip stream as
 * the bytes inflate: only one batch of entries and one chunk of text are held at a time, so a
 * segment of any size decodes in flat memory. Throws (from the iteration) like `decodeSegment`.
 */
export async function* decodeSegmentStream(
  data: Buffer,
): AsyncGenerator<ChainedEntry[], void, undefined> {
  const gunzip = createGunzip();
  gunzip.end(data);
  const lines = new SegmentLines(STREAM_BATCH);
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      yield* lines.push(decoder.write(chunk));
    }
    yield* lines.push(decoder.end());
    yield* lines.end();
  } finally {
    // Frees zlib's native memory when the caller stops early.
    gunzip.destroy();
  }
}

/**
 * Turns JSONL text, fed in arbitrary pieces, into batches of entries. Blank lines at the start or
 * the end are ignored (a trailing newline is normal); anywhere else they make the segment
 * unreadable, as does any line that is not an entry.
 */
class SegmentLines {
  private partial = '';
  private pending: string[] = [];
  private blanks = 0;
  private started = false;

  constructor(private readonly batch: number) {}

  *push(text: string): Generator<ChainedEntry[]> {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) yield* this.line(line);
  }

  *end(): Generator<ChainedEntry[]> {
    if (this.partial !== '') yield* this.line(this.partial);
    this.partial = '';
    if (this.pending.length > 0) yield this.flush();
  }

  private *line(line: string): Generator<ChainedEntry[]> {
    if (line.trim() === '') {
      if (this.started) this.blanks += 1;
      return;
    }
    if (this.blanks > 0) throw new Error('a segment has a blank line between entries');
    this.started = true;
    this.pending.push(line);
    if (this.pending.length >= this.batch) yield this.flush();
  }

  private flush(): ChainedEntry[] {
    const values = JSON.parse(`[${this.pending.join(',')}]`) as unknown[];
    this.pending = [];
    return values.map(toEntry);
  }
}

function toEntry(value: unknown): ChainedEntry {
  const v = (value ?? {}) as Partial<ChainedEntry>;
  if (
    typeof v.seq !== 'number' ||
    typeof v.prevHash !== 'string' ||
    typeof v.hash !== 'string' ||
    typeof v.body !== 'string'
  ) {
    throw new Error('a segment line is not an audit entry');
  }
  return { seq: v.seq, prevHash: v.prevHash, hash: v.hash, body: v.body };
}

/** The manifest if the signature verifies with `publicKey`, else undefined. */
export function openManifest(
  signed: SignedManifest,
  publicKey: KeyObject,
): SegmentManifest | undefined {
  let ok = false;
  try {
    ok = verify(
      null,
      Buffer.from(signed.manifest, 'utf8'),
      publicKey,
      Buffer.from(signed.signature, 'base64'),
    );
  } catch {
    ok = false;
  }
  return ok ? parseManifest(signed.manifest) : undefined;
}

/** Reads a manifest without checking its signature (to learn its key id and range). */
export function parseManifest(text: string): SegmentManifest | undefined {
  try {
    const m = JSON.parse(text) as Partial<SegmentManifest>;
    if (
      m.version !== 1 ||
      typeof m.chain !== 'string' ||
      !Number.isSafeInteger(m.firstSeq) ||
      !Number.isSafeInteger(m.lastSeq) ||
      typeof m.firstPrevHash !== 'string' ||
      typeof m.lastHash !== 'string' ||
      typeof m.segmentSha256 !== 'string' ||
      typeof m.keyId !== 'string'
    ) {
      return undefined;
    }
    return m as SegmentManifest;
  } catch {
    return undefined;
  }
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Object names of a segment in an archive: `audit/<chain>/<first>-<last>/{segment,manifest}`. */
export function segmentKeys(
  chain: string,
  firstSeq: number,
  lastSeq: number,
): { prefix: string; segment: string; manifest: string } {
  const prefix = `audit/${chain}/${pad(firstSeq)}-${pad(lastSeq)}`;
  return { prefix, segment: `${prefix}/segment`, manifest: `${prefix}/manifest` };
}

function pad(n: number): string {
  return String(n).padStart(12, '0');
}
